import { useHistoryClient } from '../../hooks/services';
import { useResource } from '../../hooks/useResource';
import { EmptyState, ErrorState, LoadingState } from '../Common/StateViews';
import { RequestDetailPage } from './RequestDetailPage';

/** `#/traces/<trace id>`: the request of a trace, where an exemplar's link from Grafana lands. */
export function TraceRequestPage({ traceId }: { traceId: string }) {
  const client = useHistoryClient();
  const found = useResource(`trace:${traceId}`, async (signal) => {
    const page = await client.requests({ q: traceId.toLowerCase(), limit: 5 }, signal);
    return page.items.find((item) => item.traceId === traceId.toLowerCase())?.id ?? null;
  });
  if (found.data) return <RequestDetailPage key={found.data} id={found.data} />;
  return (
    <div className="page">
      {found.data === null ? (
        <EmptyState title="No request for this trace">
          No request of trace <span className="mono">{traceId}</span> is in the history: it may be older than what the
          history keeps, or not an LLM request.
        </EmptyState>
      ) : found.error ? (
        <ErrorState title="The trace's request could not be loaded" error={found.error} onRetry={found.reload} />
      ) : (
        <LoadingState label="Finding the trace's request…" />
      )}
    </div>
  );
}
