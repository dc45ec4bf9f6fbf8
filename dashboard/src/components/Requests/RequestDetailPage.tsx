import { ProblemError } from '../../api/problemError';
import { useHistoryClient, useLiveStream } from '../../hooks/services';
import { useResource } from '../../hooks/useResource';
import { formatDateTime, formatDuration } from '../../model/format';
import { requestFromWire } from '../../model/fromWire';
import { EmptyState, ErrorState, LoadingState } from '../Common/StateViews';
import { StatusBadge } from '../Common/StatusBadge';
import { RequestDetails } from './RequestDetails';

/** A deep link to one request: `#/requests/<id>`. */
export function RequestDetailPage({ id }: { id: string }) {
  const client = useHistoryClient();
  const request = useResource(`request:${id}`, async (signal) => requestFromWire(await client.request(id, signal)));
  // A link followed right after a chat answer can arrive before the record: retry when it streams in.
  useLiveStream({
    onRecord: (record) => {
      if (record.id === id && !request.data) request.reload();
    },
  });
  const notFound = request.error instanceof ProblemError && request.error.status === 404;
  return (
    <div className="page">
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <a className="link" href="#/requests">
          Requests
        </a>
        <span aria-hidden="true"> / </span>
        <span className="mono">{id}</span>
      </nav>
      {request.data ? (
        <>
          <header className="page-header">
            <div>
              <h1 className="request-title">
                <span className="mono">{request.data.route}</span>
                <StatusBadge status={request.data.status} errorType={request.data.errorType} />
              </h1>
              <p className="page-subtitle">
                {formatDateTime(request.data.startTime)} · {formatDuration(request.data.durationMs)} ·{' '}
                {request.data.model ?? 'no model'}
              </p>
            </div>
          </header>
          <RequestDetails record={request.data} />
        </>
      ) : notFound ? (
        <EmptyState title="Request not found">
          No request with this id is in the history: it may be older than what the history keeps.
        </EmptyState>
      ) : request.error ? (
        <ErrorState title="The request could not be loaded" error={request.error} onRetry={request.reload} />
      ) : (
        <LoadingState label="Loading request…" />
      )}
    </div>
  );
}
