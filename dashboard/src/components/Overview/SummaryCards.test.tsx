import { render, screen, within } from '@testing-library/react';
import { summaryFromWire } from '../../model/fromWire';
import { summary } from '../../test/fakes';
import { SummaryCards } from './SummaryCards';

function cardValue(name: string): string {
  const card = screen.getByRole('group', { name });
  return within(card).getByText((_, element) => element?.className === 'stat-value').textContent ?? '';
}

describe('SummaryCards', () => {
  it('shows the figures of the summary payload', () => {
    render(<SummaryCards summary={summaryFromWire(summary())} />);
    expect(cardValue('Total requests')).toBe('120');
    expect(cardValue('Avg latency')).toBe('812 ms');
    expect(cardValue('p95 latency')).toBe('1.90 s');
    expect(cardValue('Error rate')).toBe('5.0%');
    expect(cardValue('Tokens in')).toBe('14,000');
    expect(cardValue('Tokens out')).toBe('9,000');
    expect(cardValue('Total cost')).toBe('$0.0123');
  });

  it('shows zeros and no latency for an empty window', () => {
    render(
      <SummaryCards
        summary={summaryFromWire(
          summary({
            count: 0,
            errorCount: 0,
            errorRate: 0,
            latencyMs: null,
            tokens: { input: 0, output: 0, cachedInput: 0, cacheWriteInput: 0, reasoning: 0, total: 0 },
            costUsd: 0,
            unpricedCount: 0,
            byModel: [],
          }),
        )}
      />,
    );
    expect(cardValue('Total requests')).toBe('0');
    expect(cardValue('Error rate')).toBe('0%');
    expect(cardValue('Avg latency')).toBe('—');
    expect(cardValue('p95 latency')).toBe('—');
    expect(cardValue('Total cost')).toBe('$0');
  });

  it('never shows unpriced requests as free: a lower bound with some, "unpriced" with all', () => {
    const { unmount } = render(<SummaryCards summary={summaryFromWire(summary({ count: 10, costUsd: 0.0123, unpricedCount: 3 }))} />);
    expect(cardValue('Total cost')).toBe('≥ $0.0123');
    expect(within(screen.getByRole('group', { name: 'Total cost' })).getByText('+ 3 of 10 unpriced')).toBeTruthy();
    unmount();

    render(<SummaryCards summary={summaryFromWire(summary({ count: 4, costUsd: 0, unpricedCount: 4 }))} />);
    expect(cardValue('Total cost')).toBe('unpriced');
  });
});
