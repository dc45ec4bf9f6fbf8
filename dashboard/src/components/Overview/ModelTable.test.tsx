import { render, screen, within } from '@testing-library/react';
import { summaryFromWire } from '../../model/fromWire';
import { summary } from '../../test/fakes';
import { ModelTable } from './ModelTable';

const latencyMs = { avg: 500, p50: 450, p95: 900, p99: 950 };
const tokens = { input: 100, output: 50, cachedInput: 0, cacheWriteInput: 0, reasoning: 0, total: 150 };

function costOf(model: string): string {
  const row = screen.getByRole('rowheader', { name: model }).closest('tr');
  if (!row) throw new Error(`no row for ${model}`);
  const cells = within(row).getAllByRole('cell');
  return cells[cells.length - 1]?.textContent ?? '';
}

describe('ModelTable', () => {
  it('shows an unpriced model as unpriced, a partly priced one as a lower bound, a priced one as its cost', () => {
    const wire = summary({
      byModel: [
        { model: 'gpt-4o-mini', count: 5, errorCount: 0, errorRate: 0, latencyMs, tokens, costUsd: 0.0042, unpricedCount: 0 },
        { model: 'my-unpriced-model', count: 3, errorCount: 0, errorRate: 0, latencyMs, tokens, costUsd: 0, unpricedCount: 3 },
        { model: 'unknown', count: 4, errorCount: 0, errorRate: 0, latencyMs, tokens, costUsd: 0.002, unpricedCount: 1 },
      ],
    });

    render(<ModelTable models={summaryFromWire(wire).byModel} />);

    expect(costOf('gpt-4o-mini')).toBe('$0.0042');
    expect(costOf('my-unpriced-model')).toBe('unpriced');
    expect(costOf('unknown')).toBe('≥ $0.002 + unpriced');
    expect(screen.queryByText('$0')).toBeNull();
  });
});
