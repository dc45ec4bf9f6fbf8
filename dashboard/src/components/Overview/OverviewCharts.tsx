import { errorTypeColor } from '../Common/errorColors';
import { requestHref } from '../../hooks/useHashRoute';
import { formatCost, formatCount, formatDuration, formatFiguresCost, formatTime } from '../../model/format';
import type { Timeseries } from '../../types/domain';
import { TimeSeriesChart } from './TimeSeriesChart';

function axisCost(usd: number): string {
  return usd === 0 ? '$0' : formatCost(usd);
}

export function OverviewCharts({ timeseries }: { timeseries: Timeseries }) {
  const { buckets } = timeseries;
  const times = buckets.map((b) => b.start);
  const errorTypes = [...new Set(buckets.flatMap((b) => Object.keys(b.errorsByType)))].sort();
  return (
    <div className="charts">
      <TimeSeriesChart
        title="Requests"
        kind="bar"
        integer
        times={times}
        formatValue={formatCount}
        series={[
          { key: 'ok', label: 'ok', color: 'var(--series-1)', values: buckets.map((b) => b.count - b.errorCount) },
          { key: 'error', label: 'error', color: 'var(--series-5)', values: buckets.map((b) => b.errorCount) },
        ]}
        emptyLabel="No requests in this window"
      />
      <TimeSeriesChart
        title="Latency"
        kind="line"
        times={times}
        formatValue={(v) => (v === 0 ? '0' : formatDuration(v))}
        noValueLabel="no requests"
        series={[
          // A bucket without requests has no latency (null on the wire): a gap, never a dive to 0.
          { key: 'p50', label: 'p50', color: 'var(--series-1)', values: buckets.map((b) => b.latencyMs?.p50 ?? null) },
          { key: 'p95', label: 'p95', color: 'var(--series-2)', values: buckets.map((b) => b.latencyMs?.p95 ?? null) },
          {
            // Each bucket's slowest request, a point that opens it: from a spike straight to the request behind it.
            key: 'slowest',
            label: 'slowest',
            color: 'var(--series-5)',
            points: true,
            values: buckets.map((b) => b.slowest?.durationMs ?? null),
            link: (i) => {
              const b = buckets[i];
              return b?.slowest
                ? { href: requestHref(b.slowest.requestId), label: `Slowest request at ${formatTime(b.start)}: ${formatDuration(b.slowest.durationMs)}` }
                : undefined;
            },
          },
        ]}
      />
      <TimeSeriesChart
        title="Errors by type"
        kind="bar"
        integer
        times={times}
        formatValue={formatCount}
        series={
          errorTypes.length > 0
            ? errorTypes.map((type) => ({
                key: type,
                label: type,
                color: errorTypeColor(type),
                values: buckets.map((b) => b.errorsByType[type] ?? 0),
              }))
            : [{ key: 'none', label: 'errors', color: 'var(--series-5)', values: buckets.map(() => 0) }]
        }
        emptyLabel="No errors in this window"
      />
      <TimeSeriesChart
        title="Tokens"
        kind="bar"
        integer
        times={times}
        formatValue={formatCount}
        series={[
          { key: 'input', label: 'input', color: 'var(--series-6)', values: buckets.map((b) => b.tokens.input) },
          { key: 'output', label: 'output', color: 'var(--series-4)', values: buckets.map((b) => b.tokens.output) },
        ]}
      />
      <TimeSeriesChart
        title="Cost (USD)"
        kind="line"
        times={times}
        formatValue={axisCost}
        series={[
          {
            key: 'cost',
            label: 'cost',
            color: 'var(--series-3)',
            // A bucket of only unpriced requests has no known cost: a gap, not $0.
            values: buckets.map((b) => (b.unpricedCount > 0 && b.unpricedCount >= b.count && b.costUsd === 0 ? null : b.costUsd)),
            describe: (i) => (buckets[i] && buckets[i].unpricedCount > 0 ? formatFiguresCost(buckets[i]) : undefined),
          },
        ]}
      />
    </div>
  );
}
