import { useHistoryClient } from '../../hooks/services';
import { useInterval } from '../../hooks/useInterval';
import { useResource } from '../../hooks/useResource';

/** How often the banner asks again: a failing database can start or stop failing at any time. */
export const HISTORY_STATUS_REFRESH_MS = 15_000;

/**
 * Says, above every page, when the service's request history does not keep what it is given (a damaged, locked or
 * full database): the service runs, but what the dashboard shows may be incomplete. Reads `history` of `api/info`.
 */
export function HistoryBanner() {
  const client = useHistoryClient();
  const info = useResource('history-status', (signal) => client.info(signal));
  useInterval(info.reload, HISTORY_STATUS_REFRESH_MS);
  const history = info.data?.history;
  if (!history || history.status === 'healthy') return null;
  return (
    <div className="history-banner" role="alert">
      <strong>Request history degraded.</strong> {history.reason ?? 'The history store reports a problem.'}
    </div>
  );
}
