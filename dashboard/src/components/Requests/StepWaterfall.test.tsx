import { render, screen, within } from '@testing-library/react';
import { layoutWaterfall, MIN_BAR_PCT } from '../../model/waterfall';
import type { Step } from '../../types/domain';
import { StepWaterfall } from './StepWaterfall';

const steps: Step[] = [
  { name: 'preprocessing', offsetMs: 0, durationMs: 50, status: 'ok', errorType: null, depth: 0, kind: 'step', price: null },
  { name: 'load_conversation', offsetMs: 10, durationMs: 20, status: 'ok', errorType: null, depth: 1, kind: 'step', price: null },
  { name: 'llm_api_call', offsetMs: 50, durationMs: 150, status: 'error', errorType: 'rate_limited', depth: 0, kind: 'llm_call', price: null },
];

describe('StepWaterfall', () => {
  it('draws each step at its offset and as wide as its duration, to scale against the request', () => {
    render(<StepWaterfall steps={steps} durationMs={200} />);
    const rows = within(screen.getByRole('list', { name: 'Steps' })).getAllByRole('listitem');
    expect(rows).toHaveLength(3);
    const bars = screen.getAllByTestId('waterfall-bar');
    expect(bars.map((bar) => [bar.style.left, bar.style.width])).toEqual([
      ['0%', '25%'],
      ['5%', '10%'],
      ['25%', '75%'],
    ]);
  });

  it('indents nested steps and marks failed ones', () => {
    render(<StepWaterfall steps={steps} durationMs={200} />);
    const nested = screen.getByRole('listitem', { name: /^load_conversation/ });
    expect(nested.querySelector('.waterfall-name')?.className).toContain('depth-1');
    const failed = screen.getByRole('listitem', { name: /^llm_api_call/ });
    expect(failed.getAttribute('aria-label')).toContain('failed: rate_limited');
    expect(within(failed).getByTestId('waterfall-bar').className).toContain('bar-error');
  });

  it('draws a tool and an embedding unlike an LLM call, and an unknown kind as a plain step', () => {
    const mixed: Step[] = [
      { name: 'embedding_call', offsetMs: 0, durationMs: 20, status: 'ok', errorType: null, depth: 0, kind: 'embedding', price: null },
      { name: 'llm_api_call', offsetMs: 20, durationMs: 100, status: 'ok', errorType: null, depth: 0, kind: 'llm_call', price: null },
      { name: 'execute_tool get_time', offsetMs: 120, durationMs: 30, status: 'ok', errorType: null, depth: 0, kind: 'tool', price: null },
      { name: 'GET /search', offsetMs: 150, durationMs: 10, status: 'ok', errorType: null, depth: 1, kind: 'http', price: null },
      { name: 'execute_tool broken', offsetMs: 160, durationMs: 5, status: 'error', errorType: 'timeout', depth: 0, kind: 'tool', price: null },
    ];
    render(<StepWaterfall steps={mixed} durationMs={200} />);
    const barOf = (name: RegExp) => within(screen.getByRole('listitem', { name })).getByTestId('waterfall-bar').className;

    expect(barOf(/^llm_api_call \(LLM\)/)).toContain('bar-kind-llm_call');
    expect(barOf(/^execute_tool get_time \(tool\)/)).toContain('bar-kind-tool');
    expect(barOf(/^embedding_call \(embedding\)/)).toContain('bar-kind-embedding');
    expect(new Set([barOf(/^llm_api_call/), barOf(/^execute_tool get_time/), barOf(/^embedding_call/)]).size).toBe(3);
    expect(barOf(/^GET \/search:/)).toBe('waterfall-bar bar-depth-1');
    const failedTool = screen.getByRole('listitem', { name: /^execute_tool broken \(tool\)/ });
    expect(failedTool.getAttribute('aria-label')).toContain('failed: timeout');
    expect(within(failedTool).getByTestId('waterfall-bar').className).toContain('bar-error');
    expect(within(failedTool).getByText('tool')).toBeTruthy();
  });

  it('says so when a request has no steps', () => {
    render(<StepWaterfall steps={[]} durationMs={10} />);
    expect(screen.getByText(/No steps were recorded/)).toBeTruthy();
  });
});

describe('layoutWaterfall', () => {
  it('stretches the timeline when a step ends after the request span', () => {
    const { totalMs, bars } = layoutWaterfall(
      [{ name: 'late', offsetMs: 50, durationMs: 150, status: 'ok', errorType: null, depth: 0, kind: 'step', price: null }],
      100,
    );
    expect(totalMs).toBe(200);
    expect(bars[0]).toMatchObject({ leftPct: 25, widthPct: 75 });
  });

  it('keeps a very short step visible and inside the track', () => {
    const { bars } = layoutWaterfall(
      [
        { name: 'tiny', offsetMs: 0, durationMs: 0.01, status: 'ok', errorType: null, depth: 0, kind: 'step', price: null },
        { name: 'last', offsetMs: 1000, durationMs: 0, status: 'ok', errorType: null, depth: 0, kind: 'step', price: null },
      ],
      1000,
    );
    expect(bars[0]?.widthPct).toBe(MIN_BAR_PCT);
    expect((bars[1]?.leftPct ?? 0) + (bars[1]?.widthPct ?? 0)).toBeLessThanOrEqual(100 + MIN_BAR_PCT);
  });
});

describe('StepWaterfall prices', () => {
  it('names the price entry of an LLM call in its label and tooltip, and none for other steps', () => {
    render(
      <StepWaterfall
        steps={[
          { name: 'chat gpt-4o', offsetMs: 0, durationMs: 80, status: 'ok', errorType: null, depth: 0, kind: 'llm_call', price: 'openai/gpt-4o@2026-11-01' },
          { name: 'parse', offsetMs: 80, durationMs: 20, status: 'ok', errorType: null, depth: 0, kind: 'step', price: null },
        ]}
        durationMs={100}
      />,
    );
    const [call, parse] = within(screen.getByRole('list', { name: 'Steps' })).getAllByRole('listitem');
    expect(call!.getAttribute('aria-label')).toContain('priced by openai/gpt-4o@2026-11-01');
    expect(call!.getAttribute('title')).toBe('Price: openai/gpt-4o@2026-11-01');
    expect(parse!.getAttribute('aria-label')).not.toContain('priced');
    expect(parse!.getAttribute('title')).toBeNull();
  });
});
