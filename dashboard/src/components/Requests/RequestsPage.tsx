import { useCallback, useMemo, useState } from 'react';
import { useHistoryClient } from '../../hooks/services';
import { useDebouncedValue } from '../../hooks/useDebouncedValue';
import type { RequestsLink } from '../../hooks/useHashRoute';
import { useRequestHistory } from '../../hooks/useRequestHistory';
import { useResource } from '../../hooks/useResource';
import { formatCount } from '../../model/format';
import { filterFromLink, isFiltered } from '../../model/requestFilter';
import type { RequestFilter } from '../../types/domain';
import { EmptyState, ErrorState, LoadingState } from '../Common/StateViews';
import { RequestFilters } from './RequestFilters';
import { RequestList } from './RequestList';

/** The request list; `link` is the filter the page was opened with (`#/requests?tenant=acme`). */
export function RequestsPage({ link }: { link?: RequestsLink } = {}) {
  const client = useHistoryClient();
  const [filter, setFilter] = useState<RequestFilter>(() => filterFromLink(link));
  // Typed filters are applied once typing pauses; the chosen ones at once.
  const debouncedQ = useDebouncedValue(filter.q, 250);
  const debouncedUser = useDebouncedValue(filter.user.trim(), 250);
  const debouncedTenant = useDebouncedValue(filter.tenant.trim(), 250);
  const debouncedProperty = useDebouncedValue(filter.property.trim(), 250);
  const appliedFilter = useMemo(
    () => ({ ...filter, q: debouncedQ, user: debouncedUser, tenant: debouncedTenant, property: debouncedProperty }),
    [filter, debouncedQ, debouncedUser, debouncedTenant, debouncedProperty],
  );
  const history = useRequestHistory(appliedFilter);
  const [expandedId, setExpandedId] = useState<string | null>(null);
  const onToggle = useCallback((id: string) => setExpandedId((current) => (current === id ? null : id)), []);

  // Filter choices: the models of the last 24 hours plus whatever the list has shown.
  const day = useResource('summary:24h', (signal) => client.summary('24h', signal));
  const [seen, setSeen] = useState<{ models: Set<string>; routes: Set<string>; replicas: Set<string> }>({
    models: new Set(),
    routes: new Set(),
    replicas: new Set(),
  });
  const models = useMemo(() => {
    const set = new Set(seen.models);
    for (const model of day.data?.byModel ?? []) set.add(model.model);
    for (const record of history.items) if (record.model) set.add(record.model);
    return [...set];
  }, [seen.models, day.data, history.items]);
  const routes = useMemo(() => {
    const set = new Set(seen.routes);
    for (const record of history.items) set.add(record.route);
    return [...set];
  }, [seen.routes, history.items]);
  const replicas = useMemo(() => {
    const set = new Set(seen.replicas);
    for (const record of history.items) if (record.replica) set.add(record.replica);
    return [...set];
  }, [seen.replicas, history.items]);
  const onFilterChange = useCallback(
    (next: RequestFilter) => {
      setSeen({ models: new Set(models), routes: new Set(routes), replicas: new Set(replicas) });
      setFilter(next);
    },
    [models, routes, replicas],
  );

  const filtered = isFiltered(appliedFilter);

  return (
    <div className="page page-fill">
      <header className="page-header">
        <div>
          <h1>Requests</h1>
          <p className="page-subtitle">
            Newest first, live.{' '}
            {history.items.length > 0 ? (
              <span aria-live="polite">
                {formatCount(history.items.length)} shown{history.hasMore ? ', more on scroll' : ''}.
              </span>
            ) : null}
          </p>
        </div>
      </header>
      <RequestFilters value={filter} onChange={onFilterChange} models={models} routes={routes} replicas={replicas} />
      {history.error && history.items.length === 0 ? (
        <ErrorState title="The request history could not be loaded" error={history.error} onRetry={history.reload} />
      ) : history.loading && history.items.length === 0 ? (
        <LoadingState label="Loading requests…" />
      ) : history.items.length === 0 ? (
        <EmptyState title={filtered ? 'No request matches these filters' : 'No requests yet'}>
          {filtered
            ? 'Change or clear the filters. New requests appear here as they finish.'
            : 'Requests appear here live as they finish: send a message from the Chat page.'}
        </EmptyState>
      ) : (
        <>
          {history.error ? (
            <p className="banner banner-warn" role="status">
              The service did not answer the last request; the list may be incomplete.
            </p>
          ) : null}
          <RequestList
            items={history.items}
            expandedId={expandedId}
            onToggle={onToggle}
            hasMore={history.hasMore}
            loadingMore={history.loadingMore}
            onLoadMore={history.loadMore}
          />
        </>
      )}
    </div>
  );
}
