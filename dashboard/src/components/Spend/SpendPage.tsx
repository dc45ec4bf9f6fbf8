import { useCallback, useState } from 'react';
import { ProblemError } from '../../api/problemError';
import type { SpendDimension, SpendWindow } from '../../api/wireTypes';
import { useHistoryClient, useLiveStream } from '../../hooks/services';
import { useInterval } from '../../hooks/useInterval';
import { useResource } from '../../hooks/useResource';
import { useThrottledCallback } from '../../hooks/useThrottledCallback';
import { formatCost } from '../../model/format';
import { budgetFromWire, spendFromWire } from '../../model/spend';
import { ErrorState, LoadingState } from '../Common/StateViews';
import { BudgetGauges } from './BudgetGauges';
import { SpendTable } from './SpendTable';

export const spendWindows: readonly SpendWindow[] = ['1h', '24h', '7d', '30d'];
const windowLabels: Record<SpendWindow, string> = { '1h': 'Last hour', '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days' };
const dimensions: readonly SpendDimension[] = ['tenant', 'user', 'route', 'model'];

/** Rows per table: the biggest spenders; the request list behind a row has the rest of the detail. */
export const SPEND_ROWS = 10;
const LIVE_THROTTLE_MS = 5000;
const REFRESH_MS = 15000;

/** Cost by tenant, user, route and model over a window, with the budgets' gauges. */
export function SpendPage() {
  const client = useHistoryClient();
  const [spendWindow, setSpendWindow] = useState<SpendWindow>('24h');
  const spend = useResource(`spend:${spendWindow}`, async (signal) => {
    const answers = await Promise.all(dimensions.map((by) => client.spend(spendWindow, by, SPEND_ROWS, signal)));
    // Each table is the dimension it asked for, whatever the answer says.
    return answers.map((answer, i) => ({ ...spendFromWire(answer), by: dimensions[i]! }));
  });
  const budgets = useResource('budgets', async (signal) => {
    try {
      // 'now' for the time to reset, taken when the answer arrives (rendering stays pure).
      return { list: (await client.budgets(signal)).budgets.map(budgetFromWire), now: Date.now() };
    } catch (error) {
      // A service without budgets (an older one) has no such endpoint: the page shows no gauges, nothing broken.
      if (error instanceof ProblemError && error.status === 404) return null;
      throw error;
    }
  });
  const { reload: reloadSpend } = spend;
  const { reload: reloadBudgets } = budgets;
  const refresh = useCallback(() => {
    reloadSpend();
    reloadBudgets();
  }, [reloadSpend, reloadBudgets]);
  const throttledRefresh = useThrottledCallback(refresh, LIVE_THROTTLE_MS);
  useLiveStream({ onRecord: throttledRefresh, onReconnect: refresh });
  useInterval(refresh, REFRESH_MS);

  const tables = spend.data;
  const total = tables?.[0];
  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Spend</h1>
          <p className="page-subtitle">Who and what spent it: cost by tenant, user, route and model. Each name opens its requests.</p>
        </div>
        <div className="segmented" role="group" aria-label="Time window">
          {spendWindows.map((w) => (
            <button key={w} type="button" className="segment" aria-pressed={w === spendWindow} title={windowLabels[w]} onClick={() => setSpendWindow(w)}>
              {w}
            </button>
          ))}
        </div>
      </header>
      {budgets.data ? <BudgetGauges budgets={budgets.data.list} now={budgets.data.now} /> : null}
      {budgets.error && !budgets.data ? (
        <p className="banner banner-warn" role="status">
          The budgets could not be loaded.
        </p>
      ) : null}
      {spend.error && !tables ? (
        <ErrorState title="The spend could not be loaded" error={spend.error} onRetry={refresh} />
      ) : !tables || !total ? (
        <LoadingState label="Loading spend…" />
      ) : (
        <>
          {spend.error ? (
            <p className="banner banner-warn" role="status">
              Showing the last figures received: the service is not answering.
            </p>
          ) : null}
          <section className="card spend-total" role="group" aria-label="Total cost">
            <span className="spend-total-label muted">Total cost · {windowLabels[total.window].toLowerCase()}</span>
            <span className="spend-total-value" data-testid="spend-total">{formatCost(total.totalCostUsd)}</span>
          </section>
          <div className="spend-grid">
            {tables.map((table) => (
              <SpendTable key={table.by} by={table.by} rows={table.rows} limit={SPEND_ROWS} />
            ))}
          </div>
        </>
      )}
    </div>
  );
}
