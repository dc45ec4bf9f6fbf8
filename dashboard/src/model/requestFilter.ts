import type { RequestsLink } from '../hooks/useHashRoute';
import type { RequestFilter, RequestRecord } from '../types/domain';

export const emptyFilter: RequestFilter = {
  status: '',
  model: '',
  route: '',
  replica: '',
  q: '',
  negative: false,
  user: '',
  tenant: '',
  property: '',
};

/** The filter a link to the request list asks for (`#/requests?tenant=acme`, from the spend view). */
export function filterFromLink(link: RequestsLink | undefined): RequestFilter {
  return {
    ...emptyFilter,
    tenant: link?.tenant ?? '',
    user: link?.user ?? '',
    route: link?.route ?? '',
    model: link?.model ?? '',
    replica: link?.replica ?? '',
  };
}

/** Splits a property filter, `key` or `key:value`, at its first colon. */
export function parseProperty(property: string): { key: string; value: string | null } {
  const colon = property.indexOf(':');
  return colon < 0 ? { key: property, value: null } : { key: property.slice(0, colon), value: property.slice(colon + 1) };
}

export function isFiltered(filter: RequestFilter): boolean {
  return (
    filter.status !== '' ||
    filter.model !== '' ||
    filter.route !== '' ||
    filter.replica !== '' ||
    filter.q !== '' ||
    filter.negative ||
    filter.user !== '' ||
    filter.tenant !== '' ||
    filter.property !== ''
  );
}

/** The same rules as the server's `api/requests` filters, for records that arrive on the live stream. */
export function matchesFilter(record: RequestRecord, filter: RequestFilter): boolean {
  if (filter.status && record.status !== filter.status) return false;
  if (filter.model && record.model !== filter.model) return false;
  if (filter.route && record.route !== filter.route) return false;
  if (filter.replica && record.replica !== filter.replica) return false;
  if (filter.negative && !record.scores.some((score) => score.polarity === 'negative')) return false;
  if (filter.user && record.userId !== filter.user) return false;
  if (filter.tenant && record.tenantId !== filter.tenant) return false;
  if (filter.property) {
    const { key, value } = parseProperty(filter.property);
    if (!Object.hasOwn(record.properties, key)) return false;
    if (value !== null && record.properties[key] !== value) return false;
  }
  if (filter.q) {
    const q = filter.q.toLowerCase();
    if (!record.id.toLowerCase().startsWith(q) && !record.traceId.toLowerCase().startsWith(q)) return false;
  }
  return true;
}

/** Adds live records to the top of a newest-first list, skipping ids already there. */
export function prependRecords(
  items: readonly RequestRecord[],
  incoming: readonly RequestRecord[],
  cap: number,
): RequestRecord[] {
  if (incoming.length === 0) return items as RequestRecord[];
  const known = new Set(items.map((item) => item.id));
  const fresh = incoming.filter((record) => !known.has(record.id)).sort((a, b) => b.seq - a.seq);
  if (fresh.length === 0) return items as RequestRecord[];
  const merged = [...fresh, ...items];
  return merged.length > cap ? merged.slice(0, cap) : merged;
}

/** Appends an older page, skipping ids already listed (a live record may also be on the page). */
export function appendPage(items: readonly RequestRecord[], page: readonly RequestRecord[]): RequestRecord[] {
  const known = new Set(items.map((item) => item.id));
  return [...items, ...page.filter((record) => !known.has(record.id))];
}
