// Number and time formatting shared by every page (en-US, so figures read the same everywhere).

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function formatCount(value: number): string {
  return Math.abs(value) >= 100_000 ? compact.format(value) : integer.format(value);
}

export function formatPercent(rate: number): string {
  if (!Number.isFinite(rate) || rate === 0) return '0%';
  const pct = rate * 100;
  return `${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)}%`;
}

/** A duration; '—' when there is none (a window without requests has no latency). */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms === 0) return '0 ms';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function formatCost(usd: number | null): string {
  if (usd === null) return 'unpriced';
  if (usd === 0) return '$0';
  if (Math.abs(usd) >= 1) return `$${usd.toFixed(2)}`;
  if (Math.abs(usd) >= 0.01) return `$${usd.toFixed(4)}`;
  const fixed = usd.toFixed(6).replace(/0+$/, '');
  return fixed === '0.' ? '<$0.000001' : `$${fixed}`;
}

/**
 * The cost of a set of requests: unpriced requests never read as free. All unpriced → 'unpriced'; some →
 * '≥ $x + unpriced' (the known cost is a lower bound); none → the cost.
 */
export function formatFiguresCost(figures: { count: number; costUsd: number; unpricedCount: number }): string {
  if (figures.unpricedCount <= 0) return formatCost(figures.costUsd);
  if (figures.unpricedCount >= figures.count && figures.costUsd === 0) return 'unpriced';
  return `≥ ${formatCost(figures.costUsd)} + unpriced`;
}

export function formatTime(date: Date): string {
  return date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatDateTime(date: Date): string {
  return `${date.toLocaleDateString('en-CA')} ${formatTime(date)}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

export function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}
