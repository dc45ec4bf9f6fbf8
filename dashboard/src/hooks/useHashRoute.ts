import { useEffect, useState } from 'react';

export type Route =
  | { page: 'overview'; replica?: string }
  | { page: 'requests'; filter: RequestsLink }
  | { page: 'request'; id: string }
  | { page: 'trace'; traceId: string }
  | { page: 'chat' }
  | { page: 'spend' }
  | { page: 'not-found'; path: string };

/** Filters a link to the request list carries (the spend view's figures link to the requests behind them). */
export interface RequestsLink {
  tenant?: string;
  user?: string;
  route?: string;
  model?: string;
  replica?: string;
}

const LINK_KEYS = ['tenant', 'user', 'route', 'model', 'replica'] as const;

export function parseHash(hash: string): Route {
  const [rawPath = '', query = ''] = hash.replace(/^#/, '').split('?', 2);
  const path = rawPath.replace(/\/+$/, '');
  if (path === '' || path === '/' || path === '/overview') {
    const replica = new URLSearchParams(query).get('replica');
    return replica ? { page: 'overview', replica } : { page: 'overview' };
  }
  if (path === '/requests') {
    const params = new URLSearchParams(query);
    const filter: RequestsLink = {};
    for (const key of LINK_KEYS) {
      const value = params.get(key);
      if (value) filter[key] = value;
    }
    return { page: 'requests', filter };
  }
  if (path === '/chat') return { page: 'chat' };
  if (path === '/spend') return { page: 'spend' };
  const match = /^\/requests\/([^/]+)$/.exec(path);
  if (match?.[1]) return { page: 'request', id: decodeURIComponent(match[1]) };
  // An exemplar's link from Grafana names a trace, not a request: the page finds the request of that trace.
  const trace = /^\/traces\/([^/]+)$/.exec(path);
  if (trace?.[1]) return { page: 'trace', traceId: decodeURIComponent(trace[1]) };
  return { page: 'not-found', path };
}

export function requestHref(id: string): string {
  return `#/requests/${encodeURIComponent(id)}`;
}

/** A link to the request list with filters set, e.g. `#/requests?tenant=acme`. */
export function requestsHref(filter: RequestsLink = {}): string {
  const params = new URLSearchParams();
  for (const key of LINK_KEYS) {
    const value = filter[key];
    if (value) params.set(key, value);
  }
  const query = params.toString();
  return query ? `#/requests?${query}` : '#/requests';
}

/** The overview, of every replica or of one, e.g. `#/?replica=chat-service-2`. */
export function overviewHref(replica?: string): string {
  return replica ? `#/?${new URLSearchParams({ replica }).toString()}` : '#/';
}

/** The current hash route; hash routing needs no server fallback under any prefix. */
export function useHashRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
