import { render, screen, within } from '@testing-library/react';
import { requestFromWire } from '../../model/fromWire';
import { record } from '../../test/fakes';
import { StepWaterfall } from './StepWaterfall';

// A request whose tool made an HTTP call and whose retrieval queried a database: other sources' spans, kept as steps.
const wire = record({
  durationMs: 1000,
  steps: [
    { name: 'invoke_agent Planner', offsetMs: 0, durationMs: 900, status: 'ok', errorType: null, depth: 0, kind: 'agent', price: null },
    { name: 'llm_api_call', offsetMs: 10, durationMs: 300, status: 'ok', errorType: null, depth: 1, kind: 'llm_call', price: null },
    { name: 'execute_tool get_weather', offsetMs: 320, durationMs: 200, status: 'ok', errorType: null, depth: 1, kind: 'tool', price: null },
    { name: 'GET api.weather.example', offsetMs: 330, durationMs: 150, status: 'error', errorType: '503', depth: 2, kind: 'http', price: null },
    { name: 'SELECT chat', offsetMs: 600, durationMs: 40, status: 'ok', errorType: null, depth: 1, kind: 'db', price: null },
  ],
  droppedSteps: 7,
});

describe('StepWaterfall with other sources', () => {
  it('nests each span under the step that made it, by its depth', () => {
    const request = requestFromWire(wire);
    render(<StepWaterfall steps={request.steps} durationMs={request.durationMs} droppedSteps={request.droppedSteps} />);

    const rows = within(screen.getByRole('list', { name: 'Steps' })).getAllByRole('listitem');
    expect(rows.map((row) => [row.getAttribute('aria-label')?.split(':')[0], row.getAttribute('data-depth')])).toEqual([
      ['invoke_agent Planner (agent)', '0'],
      ['llm_api_call (LLM)', '1'],
      ['execute_tool get_weather (tool)', '1'],
      ['GET api.weather.example', '2'],
      ['SELECT chat', '1'],
    ]);
    const http = screen.getByRole('listitem', { name: /^GET api\.weather\.example/ });
    expect(http.querySelector('.waterfall-name')?.className).toContain('depth-2');
    expect(http.getAttribute('aria-label')).toContain('failed: 503');
  });

  it('says how many spans past the bound were not kept', () => {
    const request = requestFromWire(wire);
    render(<StepWaterfall steps={request.steps} durationMs={request.durationMs} droppedSteps={request.droppedSteps} />);

    expect(screen.getByText(/7 more spans of other sources not kept/)).toBeTruthy();
  });

  it('says nothing of dropped spans when none were', () => {
    const request = requestFromWire(record());
    render(<StepWaterfall steps={request.steps} durationMs={request.durationMs} droppedSteps={request.droppedSteps} />);

    expect(screen.queryByText(/not kept/)).toBeNull();
  });
});
