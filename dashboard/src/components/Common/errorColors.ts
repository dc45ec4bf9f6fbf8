/** A stable colour per error type; types a host adds itself get the spare series colours. */
export const errorTypeColors: Record<string, string> = {
  rate_limited: 'var(--series-2)',
  timeout: 'var(--series-5)',
  provider_unavailable: 'var(--series-4)',
  content_filtered: 'var(--series-6)',
  authentication: 'var(--series-7)',
  invalid_request: 'var(--series-1)',
  context_length_exceeded: 'var(--series-3)',
  network: 'var(--series-8)',
  cancelled: 'var(--text-faint)',
  _OTHER: 'var(--text-muted)',
};

const spare = ['var(--series-1)', 'var(--series-3)', 'var(--series-6)', 'var(--series-7)'];

export function errorTypeColor(type: string): string {
  const known = errorTypeColors[type];
  if (known) return known;
  let hash = 0;
  for (const char of type) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return spare[hash % spare.length] ?? 'var(--series-8)';
}
