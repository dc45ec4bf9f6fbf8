import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { WireTimeseries } from '../../api/wireTypes';
import { jsonResponse, summary } from '../../test/fakes';
import { calledPaths, renderWithServices } from '../../test/renderWithServices';
import { OverviewPage } from './OverviewPage';

const timeseries: WireTimeseries = {
  window: '5m',
  bucketSeconds: 15,
  buckets: Array.from({ length: 20 }, (_, i) => ({
    start: new Date(Date.UTC(2026, 10, 26, 20, 0, i * 15)).toISOString(),
    count: i % 3,
    errorCount: i % 5 === 0 ? 1 : 0,
    errorRate: i % 5 === 0 && i % 3 > 0 ? 1 / (i % 3) : 0,
    errorsByType: (i % 5 === 0 ? { timeout: 1 } : {}) as Record<string, number>,
    latencyMs: { avg: 700, p50: 650, p95: 1200, p99: 1300 },
    tokens: { input: 700, output: 450, cachedInput: 0, cacheWriteInput: 0, reasoning: 0, total: 1150 },
    costUsd: 0.0007,
    unpricedCount: 0,
    slowest: i % 3 > 0 ? { requestId: `request-${i}`, durationMs: 1300 } : null,
  })),
};

describe('OverviewPage', () => {
  it('shows the cards, the charts and the per-model table, and refetches for another window', async () => {
    const user = userEvent.setup();
    const fetchMock = vi.fn(async (input: RequestInfo | URL) =>
      String(input).includes('/timeseries') ? jsonResponse(timeseries) : jsonResponse(summary()),
    );
    renderWithServices(<OverviewPage />, fetchMock as unknown as typeof fetch);

    const requests = await screen.findByRole('group', { name: 'Total requests' });
    expect(requests.textContent).toContain('120');
    expect(await screen.findByRole('img', { name: 'Latency over time' })).toBeTruthy();
    expect(screen.getByRole('img', { name: 'Errors by type over time' })).toBeTruthy();
    const table = screen.getByRole('table');
    expect(within(table).getByRole('rowheader', { name: 'gpt-4o-mini' })).toBeTruthy();

    await user.click(screen.getByRole('button', { name: '1h' }));
    expect(screen.getByRole('button', { name: '1h' }).getAttribute('aria-pressed')).toBe('true');
    await waitFor(() => expect(calledPaths(fetchMock)).toEqual(expect.arrayContaining(['summary?window=1h', 'timeseries?window=1h'])));
  });

  it('shows an error state when the service does not answer', async () => {
    const fetchMock = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    renderWithServices(<OverviewPage />, fetchMock as unknown as typeof fetch);
    const alerts = await screen.findAllByRole('alert');
    expect(alerts[0]?.textContent).toContain('The service cannot be reached.');
  });
});
