import { useEffect, useState } from 'react';

export type Route =
  | { page: 'overview' }
  | { page: 'requests' }
  | { page: 'request'; id: string }
  | { page: 'trace'; traceId: string }
  | { page: 'chat' }
  | { page: 'not-found'; path: string };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '');
  if (path === '' || path === '/' || path === '/overview') return { page: 'overview' };
  if (path === '/requests') return { page: 'requests' };
  if (path === '/chat') return { page: 'chat' };
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
