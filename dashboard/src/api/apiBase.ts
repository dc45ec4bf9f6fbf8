/**
 * The dashboard is served from a folder (`/llm-apm/` by default, but any prefix) and the history API
 * lives in that folder's `api/` sub-folder. Routing uses the hash, so the page's own path is the folder.
 */
export function apiBaseFrom(location: Pick<Location, 'origin' | 'pathname'>): string {
  const folder = location.pathname.endsWith('/')
    ? location.pathname
    : location.pathname.slice(0, location.pathname.lastIndexOf('/') + 1);
  return `${location.origin}${folder}api/`;
}
