import { formatCost, formatPercent } from '../../model/format';
import type { Budget } from '../../model/spend';

const periods: Record<Budget['period'], string> = { hour: 'hour', day: 'day', month: 'month' };

function resetsIn(resetsAt: Date, now: number): string {
  const minutes = Math.max(0, Math.round((resetsAt.getTime() - now) / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`;
}

/** One gauge per budget (and per key of a per-each budget): spent against the limit of the current period. */
export function BudgetGauges({ budgets, now }: { budgets: Budget[]; now: number }) {
  return (
    <section className="card" aria-labelledby="budgets-title">
      <h2 id="budgets-title" className="card-title">
        Budgets
      </h2>
      {budgets.length === 0 ? (
        <p className="muted table-empty">
          No budgets are configured. Add one under <code>LlmApm:Budgets</code>, e.g.{' '}
          <code>"LlmApm": {'{'} "Budgets": {'{'} "per-tenant": {'{'} "Scope": "Tenant", "LimitUsd": 5, "Period": "Day" {'}'} {'}'} {'}'}</code>{' '}
          (docs/operations.md).
        </p>
      ) : (
        <ul className="budget-list" aria-label="Budgets">
          {budgets.map((budget) => {
            const label = budget.key === null ? budget.name : `${budget.name} · ${budget.key}`;
            return (
              <li key={`${budget.name}|${budget.key ?? ''}`} className={`budget budget-${budget.level}`}>
                <div className="budget-head">
                  <span className="budget-name mono">{label}</span>
                  <span className={`badge ${budget.hard ? 'badge-error' : 'badge-warn'}`}>{budget.hard ? 'hard' : 'soft'}</span>
                </div>
                <div
                  className="budget-gauge"
                  role="meter"
                  aria-label={label}
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={Math.round(budget.ratio * 100)}
                  aria-valuetext={`${formatPercent(budget.ratio)} of ${formatCost(budget.limitUsd)}`}
                >
                  <span className="budget-gauge-fill" style={{ width: `${Math.min(100, budget.ratio * 100)}%` }} />
                </div>
                <div className="budget-figures muted">
                  <span>
                    {formatCost(budget.spentUsd)} of {formatCost(budget.limitUsd)} per {periods[budget.period]} ({formatPercent(budget.ratio)})
                  </span>
                  <span title={budget.resetsAt.toISOString()}>resets in {resetsIn(budget.resetsAt, now)}</span>
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
