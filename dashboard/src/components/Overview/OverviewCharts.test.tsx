import { render, screen } from '@testing-library/react';
import type { WireBucket } from '../../api/wireTypes';
import { timeseriesFromWire } from '../../model/fromWire';
import { OverviewCharts } from './OverviewCharts';
import { lineRuns } from './TimeSeriesChart';

const tokens = { input: 10, output: 5, cachedInput: 0, cacheWriteInput: 0, reasoning: 0, total: 15 };

function bucket(i: number, count: number, extra: Partial<WireBucket> = {}): WireBucket {
  return {
    start: new Date(Date.UTC(2026, 10, 26, 20, 0, i * 15)).toISOString(),
    count,
    errorCount: 0,
    errorRate: 0,
    errorsByType: {},
    latencyMs: count > 0 ? { avg: 700, p50: 650, p95: 1200, p99: 1300 } : null,
    tokens: count > 0 ? tokens : { input: 0, output: 0, cachedInput: 0, cacheWriteInput: 0, reasoning: 0, total: 0 },
    costUsd: count > 0 ? 0.001 : 0,
    unpricedCount: 0,
    slowest: count > 0 ? { requestId: `req-${i}`, durationMs: 1500 + i } : null,
    ...extra,
  };
}

/** The path data of one series of a chart: one `M...` path per run of buckets with a value. */
function seriesShapes(chartName: string, series: string) {
  const group = screen.getByRole('img', { name: chartName }).querySelector(`g[data-series="${series}"]`);
  if (!group) throw new Error(`no series ${series} in ${chartName}`);
  return { paths: [...group.querySelectorAll('path')].map((p) => p.getAttribute('d') ?? ''), dots: group.querySelectorAll('circle').length };
}

describe('OverviewCharts', () => {
  it('draws the latency of empty buckets as a gap, never as a dive to 0', () => {
    // Two bursts (buckets 0-2 and 5-6), a quiet stretch between, and a lone request in bucket 9.
    const counts = [2, 3, 1, 0, 0, 4, 2, 0, 0, 1];
    const timeseries = timeseriesFromWire({ window: '5m', bucketSeconds: 15, buckets: counts.map((c, i) => bucket(i, c)) });

    render(<OverviewCharts timeseries={timeseries} />);

    const p95 = seriesShapes('Latency over time', 'p95');
    expect(p95.paths).toHaveLength(2);
    expect(p95.paths.every((d) => (d.match(/[ML]/g) ?? []).length >= 2 && d.startsWith('M'))).toBe(true);
    expect(p95.paths.map((d) => (d.match(/L/g) ?? []).length)).toEqual([2, 1]);
    expect(p95.dots).toBe(1);
  });

  it('leaves a bucket of only unpriced requests out of the cost line instead of drawing $0', () => {
    const timeseries = timeseriesFromWire({
      window: '5m',
      bucketSeconds: 15,
      buckets: [bucket(0, 2), bucket(1, 2, { costUsd: 0, unpricedCount: 2 }), bucket(2, 2)],
    });

    render(<OverviewCharts timeseries={timeseries} />);

    const cost = seriesShapes('Cost (USD) over time', 'cost');
    expect(cost.paths).toHaveLength(0);
    expect(cost.dots).toBe(2);
  });
});

describe('lineRuns', () => {
  it('splits a series at its nulls', () => {
    expect(lineRuns([1, 2, null, null, 3, null, 4, 5])).toEqual([
      [0, 1],
      [4, 4],
      [6, 7],
    ]);
    expect(lineRuns([null, null])).toEqual([]);
  });

  it('links the slowest point of each bucket with requests to that request', () => {
    const counts = [2, 0, 1];
    const timeseries = timeseriesFromWire({ window: '5m', bucketSeconds: 15, buckets: counts.map((c, i) => bucket(i, c)) });

    render(<OverviewCharts timeseries={timeseries} />);

    const chart = screen.getByRole('img', { name: 'Latency over time' });
    const links = [...chart.querySelectorAll('g[data-series="slowest"] a')];
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['#/requests/req-0', '#/requests/req-2']);
    expect(links[0]?.getAttribute('aria-label')).toMatch(/^Slowest request at .+: 1\.50 s$/);
    // The empty bucket has no point: nothing to open there.
    expect(chart.querySelectorAll('g[data-series="slowest"] circle')).toHaveLength(2);
  });
});
