import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { WireReplicas, WireTimeseries } from '../../api/wireTypes';
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

  const replicasOf = (...names: string[]): WireReplicas => ({
    window: '24h',
    from: '2026-11-25T20:00:00Z',
    to: '2026-11-26T20:00:00Z',
    replicas: names.map((replica, i) => ({ replica, requests: 10 - i, lastRequestAt: '2026-11-26T19:59:00Z' })),
  });

  const overviewFetch = (replicas: WireReplicas) =>
    vi.fn(async (input: RequestInfo | URL) => {
      const url = String(input);
      if (url.includes('/replicas?')) return jsonResponse(replicas);
      return url.includes('/timeseries') ? jsonResponse(timeseries) : jsonResponse(summary());
    });

  it('offers every replica of the last day and puts the chosen one in the hash', async () => {
    const user = userEvent.setup();
    window.location.hash = '#/';
    const fetchMock = overviewFetch(replicasOf('chat-service-2', 'chat-service-1'));
    renderWithServices(<OverviewPage />, fetchMock as unknown as typeof fetch);

    const select = await screen.findByRole('combobox', { name: 'Replica' });
    await waitFor(() => expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual(['All replicas', 'chat-service-1', 'chat-service-2']));
    expect((select as HTMLSelectElement).disabled).toBe(false);
    expect((select as HTMLSelectElement).value).toBe('');
    expect(calledPaths(fetchMock)).toEqual(expect.arrayContaining(['replicas?window=24h', 'summary?window=5m', 'timeseries?window=5m']));

    await user.selectOptions(select, 'chat-service-2');
    expect(window.location.hash).toBe('#/?replica=chat-service-2');
  });

  it('asks the summary and time series of the replica in the hash and links to its requests', async () => {
    const user = userEvent.setup();
    window.location.hash = '#/?replica=chat-service-2';
    const fetchMock = overviewFetch(replicasOf('chat-service-1', 'chat-service-2'));
    renderWithServices(<OverviewPage replica="chat-service-2" />, fetchMock as unknown as typeof fetch);

    const select = await screen.findByRole('combobox', { name: 'Replica' });
    await waitFor(() => expect((select as HTMLSelectElement).value).toBe('chat-service-2'));
    await waitFor(() =>
      expect(calledPaths(fetchMock)).toEqual(expect.arrayContaining(['summary?window=5m&replica=chat-service-2', 'timeseries?window=5m&replica=chat-service-2'])),
    );
    expect(calledPaths(fetchMock).filter((p) => /^(summary|timeseries)\?/.test(p) && !p.includes('replica='))).toEqual([]);
    expect(screen.getByRole('link', { name: 'Its requests' }).getAttribute('href')).toBe('#/requests?replica=chat-service-2');

    await user.click(screen.getByRole('button', { name: '1h' }));
    await waitFor(() => expect(calledPaths(fetchMock)).toEqual(expect.arrayContaining(['summary?window=1h&replica=chat-service-2'])));

    await user.selectOptions(select, '');
    expect(window.location.hash).toBe('#/');
  });

  it('disables the select when only one replica served, and keeps a replica from the hash that did not', async () => {
    const fetchMock = overviewFetch(replicasOf('chat-service-1'));
    const { unmount } = renderWithServices(<OverviewPage />, fetchMock as unknown as typeof fetch);
    const select = await screen.findByRole('combobox', { name: 'Replica' });
    await waitFor(() => expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual(['All replicas', 'chat-service-1']));
    expect((select as HTMLSelectElement).disabled).toBe(true);
    unmount();

    renderWithServices(<OverviewPage replica="gone-replica" />, overviewFetch(replicasOf('chat-service-1')) as unknown as typeof fetch);
    const kept = await screen.findByRole('combobox', { name: 'Replica' });
    await waitFor(() => expect(within(kept).getAllByRole('option').map((o) => o.textContent)).toEqual(['All replicas', 'chat-service-1', 'gone-replica']));
    expect((kept as HTMLSelectElement).disabled).toBe(false);
    expect((kept as HTMLSelectElement).value).toBe('gone-replica');
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
