import { useCallback, useState } from 'react';
import type { SummaryWindow } from '../../api/wireTypes';
import { useHistoryClient, useLiveStream } from '../../hooks/services';
import { overviewHref } from '../../hooks/useHashRoute';
import { useInterval } from '../../hooks/useInterval';
import { useResource } from '../../hooks/useResource';
import { useThrottledCallback } from '../../hooks/useThrottledCallback';
import { summaryFromWire, timeseriesFromWire } from '../../model/fromWire';
import { ErrorState, LoadingState } from '../Common/StateViews';
import { FeedbackTable } from './FeedbackTable';
import { ModelTable } from './ModelTable';
import { OverviewCharts } from './OverviewCharts';
import { ReplicaSelector } from './ReplicaSelector';
import { SummaryCards } from './SummaryCards';
import { WindowSelector } from './WindowSelector';

/** How often the overview refetches at most when requests stream in, and at least when idle. */
const LIVE_THROTTLE_MS = 2000;
const REFRESH_MS = 10000;

/** The replicas the filter offers: those of the last day, whatever the window, so the choice does not come and go. */
const REPLICAS_WINDOW: SummaryWindow = '24h';

/** The overview of every replica, or of `replica` (the hash's `?replica=`). */
export function OverviewPage({ replica = '' }: { replica?: string } = {}) {
  const client = useHistoryClient();
  const [summaryWindow, setSummaryWindow] = useState<SummaryWindow>('5m');
  const summary = useResource(`summary:${summaryWindow}:${replica}`, async (signal) =>
    summaryFromWire(await client.summary(summaryWindow, signal, replica)),
  );
  const timeseries = useResource(`timeseries:${summaryWindow}:${replica}`, async (signal) =>
    timeseriesFromWire(await client.timeseries(summaryWindow, signal, replica)),
  );
  const feedback = useResource(`feedback:${summaryWindow}`, async (signal) => (await client.feedback(summaryWindow, signal)).rows);
  const replicas = useResource('replicas', async (signal) => (await client.replicas(REPLICAS_WINDOW, signal)).replicas);
  const { reload: reloadSummary } = summary;
  const { reload: reloadTimeseries } = timeseries;
  const { reload: reloadFeedback } = feedback;
  const { reload: reloadReplicas } = replicas;
  const refresh = useCallback(() => {
    reloadSummary();
    reloadTimeseries();
    reloadFeedback();
    reloadReplicas();
  }, [reloadSummary, reloadTimeseries, reloadFeedback, reloadReplicas]);
  const throttledRefresh = useThrottledCallback(refresh, LIVE_THROTTLE_MS);
  useLiveStream({ onRecord: throttledRefresh, onReconnect: refresh });
  useInterval(refresh, REFRESH_MS);

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Overview</h1>
          <p className="page-subtitle">Requests, latency, errors, tokens and cost of LLM interactions.</p>
        </div>
        <div className="page-controls">
          <ReplicaSelector
            replicas={replicas.data ?? []}
            value={replica}
            onChange={(next) => {
              window.location.hash = overviewHref(next);
            }}
          />
          <WindowSelector value={summaryWindow} onChange={setSummaryWindow} />
        </div>
      </header>
      {summary.error && !summary.data ? (
        <ErrorState title="The summary could not be loaded" error={summary.error} onRetry={refresh} />
      ) : !summary.data ? (
        <LoadingState label="Loading summary…" />
      ) : (
        <>
          {summary.error ? (
            <p className="banner banner-warn" role="status">
              Showing the last figures received: the service is not answering.
            </p>
          ) : null}
          <SummaryCards summary={summary.data} />
          {summary.data.count === 0 ? (
            <p className="banner" role="note">
              No requests in this window yet. Send a message from the Chat page, or call the service.
            </p>
          ) : null}
        </>
      )}
      {timeseries.error && !timeseries.data ? (
        <ErrorState title="The trends could not be loaded" error={timeseries.error} onRetry={refresh} />
      ) : timeseries.data ? (
        <OverviewCharts timeseries={timeseries.data} />
      ) : (
        <LoadingState label="Loading trends…" />
      )}
      {summary.data ? <ModelTable models={summary.data.byModel} /> : null}
      {feedback.data ? <FeedbackTable rows={feedback.data} /> : null}
    </div>
  );
}
