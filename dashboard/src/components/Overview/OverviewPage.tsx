import { useCallback, useState } from 'react';
import type { SummaryWindow } from '../../api/wireTypes';
import { useHistoryClient, useLiveStream } from '../../hooks/services';
import { useInterval } from '../../hooks/useInterval';
import { useResource } from '../../hooks/useResource';
import { useThrottledCallback } from '../../hooks/useThrottledCallback';
import { summaryFromWire, timeseriesFromWire } from '../../model/fromWire';
import { ErrorState, LoadingState } from '../Common/StateViews';
import { FeedbackTable } from './FeedbackTable';
import { ModelTable } from './ModelTable';
import { OverviewCharts } from './OverviewCharts';
import { SummaryCards } from './SummaryCards';
import { WindowSelector } from './WindowSelector';

/** How often the overview refetches at most when requests stream in, and at least when idle. */
const LIVE_THROTTLE_MS = 2000;
const REFRESH_MS = 10000;

export function OverviewPage() {
  const client = useHistoryClient();
  const [summaryWindow, setSummaryWindow] = useState<SummaryWindow>('5m');
  const summary = useResource(`summary:${summaryWindow}`, async (signal) =>
    summaryFromWire(await client.summary(summaryWindow, signal)),
  );
  const timeseries = useResource(`timeseries:${summaryWindow}`, async (signal) =>
    timeseriesFromWire(await client.timeseries(summaryWindow, signal)),
  );
  const feedback = useResource(`feedback:${summaryWindow}`, async (signal) => (await client.feedback(summaryWindow, signal)).rows);
  const { reload: reloadSummary } = summary;
  const { reload: reloadTimeseries } = timeseries;
  const { reload: reloadFeedback } = feedback;
  const refresh = useCallback(() => {
    reloadSummary();
    reloadTimeseries();
    reloadFeedback();
  }, [reloadSummary, reloadTimeseries, reloadFeedback]);
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
        <WindowSelector value={summaryWindow} onChange={setSummaryWindow} />
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
