import { useId } from 'react';
import { formatCost, formatCount, formatFiguresCost, formatDuration, formatPercent } from '../../model/format';
import type { Summary } from '../../types/domain';

function Card({ label, value, hint, tone }: { label: string; value: string; hint?: string; tone?: 'error' }) {
  const labelId = useId();
  return (
    <div className={`stat card ${tone === 'error' ? 'stat-error' : ''}`} role="group" aria-labelledby={labelId}>
      <div id={labelId} className="stat-label">
        {label}
      </div>
      <div className="stat-value">{value}</div>
      {hint ? <div className="stat-hint">{hint}</div> : null}
    </div>
  );
}

/** The headline figures of a summary window. */
export function SummaryCards({ summary }: { summary: Summary }) {
  return (
    <section className="stats" aria-label="Summary">
      <Card label="Total requests" value={formatCount(summary.count)} hint={`${formatCount(summary.errorCount)} failed`} />
      <Card label="Avg latency" value={formatDuration(summary.latencyMs?.avg)} hint={`p50 ${formatDuration(summary.latencyMs?.p50)}`} />
      <Card label="p95 latency" value={formatDuration(summary.latencyMs?.p95)} hint={`p99 ${formatDuration(summary.latencyMs?.p99)}`} />
      <Card
        label="Error rate"
        value={formatPercent(summary.errorRate)}
        hint={`${formatCount(summary.errorCount)} of ${formatCount(summary.count)}`}
        tone={summary.errorRate > 0 ? 'error' : undefined}
      />
      <Card label="Tokens in" value={formatCount(summary.tokens.input)} hint={summary.tokens.cachedInput > 0 ? `${formatCount(summary.tokens.cachedInput)} cached` : undefined} />
      <Card label="Tokens out" value={formatCount(summary.tokens.output)} hint={summary.tokens.reasoning > 0 ? `${formatCount(summary.tokens.reasoning)} reasoning` : undefined} />
      <Card
        label="Total cost"
        value={summary.unpricedCount > 0 && summary.unpricedCount < summary.count ? `≥ ${formatCost(summary.costUsd)}` : formatFiguresCost(summary)}
        hint={summary.unpricedCount > 0 ? `+ ${formatCount(summary.unpricedCount)} of ${formatCount(summary.count)} unpriced` : 'USD'}
      />
    </section>
  );
}
