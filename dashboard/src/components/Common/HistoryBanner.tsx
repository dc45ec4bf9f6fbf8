import { useHistoryClient } from '../../hooks/services';
import { useInterval } from '../../hooks/useInterval';
import { useResource } from '../../hooks/useResource';

/** How often the banner asks again: a failing database can start or stop failing at any time. */
export const HISTORY_STATUS_REFRESH_MS = 15_000;

/**
 * Says, above every page, when the service's request history does not keep what it is given (a damaged, locked or
 * full database): the service runs, but what the dashboard shows may be incomplete. Reads `history` of `api/info`;
 * also says when the price file's last change could not be loaded (`priceFile.error`).
 */
export function HistoryBanner() {
  const client = useHistoryClient();
  const info = useResource('history-status', (signal) => client.info(signal));
  useInterval(info.reload, HISTORY_STATUS_REFRESH_MS);
  const history = info.data?.history;
  const degraded = history && history.status !== 'healthy' ? history : null;
  // A price file change that was not taken (LlmApm:PriceFile): costs keep the last good prices.
  const priceError = info.data?.priceFile?.error ?? null;
  if (!degraded && !priceError) return null;
  return (
    <>
      {degraded ? (
        <div className="history-banner" role="alert">
          <strong>Request history degraded.</strong> {degraded.reason ?? 'The history store reports a problem.'}
        </div>
      ) : null}
      {priceError ? (
        <div className="history-banner" role="alert">
          <strong>Price file not loaded.</strong> {priceError} Costs use the last good prices.
        </div>
      ) : null}
    </>
  );
}
