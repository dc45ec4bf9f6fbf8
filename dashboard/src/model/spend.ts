// The spend view's figures (api/spend, api/budgets) as the page uses them.
import type { SpendDimension, SpendWindow, WireBudget, WireSpend } from '../api/wireTypes';

export interface SpendRow {
  /** The tenant, user, route or model; null for the requests that have none. */
  key: string | null;
  requests: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  unpricedRequests: number;
  /** The row's part of the window's total cost, 0..1 (0 when nothing cost anything). */
  share: number;
}

export interface SpendTableData {
  by: SpendDimension;
  window: SpendWindow;
  from: Date;
  to: Date;
  totalCostUsd: number;
  rows: SpendRow[];
}

export type BudgetLevel = 'ok' | 'warn' | 'over';

export interface Budget {
  name: string;
  scope: WireBudget['scope'];
  key: string | null;
  period: WireBudget['period'];
  limitUsd: number;
  spentUsd: number;
  ratio: number;
  hard: boolean;
  resetsAt: Date;
  /** ok below 80 %, warn from 80 % (the alert rule's threshold), over from 100 %. */
  level: BudgetLevel;
}

export function spendFromWire(wire: WireSpend): SpendTableData {
  const total = wire.totalCostUsd;
  return {
    by: wire.by,
    window: wire.window,
    from: new Date(wire.from),
    to: new Date(wire.to),
    totalCostUsd: total,
    rows: wire.rows.map((row) => ({ ...row, share: total > 0 ? row.costUsd / total : 0 })),
  };
}

export function budgetLevel(ratio: number): BudgetLevel {
  return ratio >= 1 ? 'over' : ratio >= 0.8 ? 'warn' : 'ok';
}

export function budgetFromWire(wire: WireBudget): Budget {
  return { ...wire, resetsAt: new Date(wire.resetsAt), level: budgetLevel(wire.ratio) };
}
