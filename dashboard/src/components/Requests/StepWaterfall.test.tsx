import { render, screen, within } from '@testing-library/react';
import { layoutWaterfall, MIN_BAR_PCT } from '../../model/waterfall';
import type { Step } from '../../types/domain';
import { StepWaterfall } from './StepWaterfall';

const steps: Step[] = [
  { name: 'preprocessing', offsetMs: 0, durationMs: 50, status: 'ok', errorType: null, depth: 0, kind: 'step' },
  { name: 'load_conversation', offsetMs: 10, durationMs: 20, status: 'ok', errorType: null, depth: 1, kind: 'step' },
  { name: 'llm_api_call', offsetMs: 50, durationMs: 150, status: 'error', errorType: 'rate_limited', depth: 0, kind: 'llm_call' },
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

  it('says so when a request has no steps', () => {
    render(<StepWaterfall steps={[]} durationMs={10} />);
    expect(screen.getByText(/No steps were recorded/)).toBeTruthy();
  });
});

describe('layoutWaterfall', () => {
  it('stretches the timeline when a step ends after the request span', () => {
    const { totalMs, bars } = layoutWaterfall(
      [{ name: 'late', offsetMs: 50, durationMs: 150, status: 'ok', errorType: null, depth: 0, kind: 'step' }],
      100,
    );
    expect(totalMs).toBe(200);
    expect(bars[0]).toMatchObject({ leftPct: 25, widthPct: 75 });
  });

  it('keeps a very short step visible and inside the track', () => {
    const { bars } = layoutWaterfall(
      [
        { name: 'tiny', offsetMs: 0, durationMs: 0.01, status: 'ok', errorType: null, depth: 0, kind: 'step' },
        { name: 'last', offsetMs: 1000, durationMs: 0, status: 'ok', errorType: null, depth: 0, kind: 'step' },
      ],
      1000,
    );
    expect(bars[0]?.widthPct).toBe(MIN_BAR_PCT);
    expect((bars[1]?.leftPct ?? 0) + (bars[1]?.widthPct ?? 0)).toBeLessThanOrEqual(100 + MIN_BAR_PCT);
  });
});
