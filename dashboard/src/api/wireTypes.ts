// Wire types of the history API (docs/api.md). These mirror the JSON exactly; the dashboard
// converts them to domain types in src/model before rendering. They are held to the service's
// OpenAPI document (openapi.json beside this file, kept equal to the live one by a .NET test) by
// wireTypes.contract.test.ts: a field added to a wire model in C# fails that test until it is here.

export type SummaryWindow = '1m' | '5m' | '1h' | '24h';

export interface WireInfo {
  serviceName: string;
  serviceVersion: string | null;
  sdkVersion: string | null;
  contentCapture: boolean;
  historyCapacity: number;
  /** The host's chat endpoints; null when it has none. The Chat tab needs `streamEndpoint`. */
  chat: WireChatInfo | null;
  /** Whether the history keeps what it is given; absent from older services. */
  history?: WireHistoryStatus | null;
  /** The price file's state (LlmApm:PriceFile); null without one, absent from older services. */
  priceFile?: WirePriceFile | null;
}

export interface WireChatInfo {
  endpoint: string | null;
  streamEndpoint: string | null;
}

export interface WireHistoryStatus {
  status: 'healthy' | 'degraded';
  reason: string | null;
}

export interface WireLatency {
  avg: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface WireTokenTotals {
  input: number;
  output: number;
  cachedInput: number;
  cacheWriteInput: number;
  reasoning: number;
  total: number;
}

/** The figures every summary, per-model row and time bucket carries (the SDK's LlmHistoryFigures). */
export interface WireFigures {
  count: number;
  errorCount: number;
  errorRate: number;
  /** null without requests: an empty bucket has no latency. */
  latencyMs: WireLatency | null;
  tokens: WireTokenTotals;
  /** The known cost: a lower bound when unpricedCount > 0. */
  costUsd: number;
  /** Requests whose cost is unknown (a model without a price). */
  unpricedCount: number;
}

export interface WireModelSummary extends WireFigures {
  model: string;
}

export interface WireSummary extends WireFigures {
  window: SummaryWindow;
  from: string;
  to: string;
  errorsByType: Record<string, number>;
  byModel: WireModelSummary[];
}

export type WireStatus = 'ok' | 'error';

export interface WireStep {
  name: string;
  offsetMs: number;
  durationMs: number;
  status: WireStatus;
  errorType: string | null;
  depth: number;
  /** llm_call, tool, embedding, agent, step, or another source's kind (http, db, ...). */
  kind: string;
  /** For an LLM call, the price entry its cost used (e.g. `openai/gpt-4o@2026-11-01`); null otherwise. */
  price: string | null;
}

export interface WireRequestRecord {
  id: string;
  seq: number;
  traceId: string;
  spanId: string | null;
  startTime: string;
  durationMs: number;
  route: string;
  model: string | null;
  provider: string | null;
  conversationId: string | null;
  replica: string | null;
  status: WireStatus;
  errorType: string | null;
  errorMessage: string | null;
  tokens: WireRequestTokens;
  costUsd: number | null;
  unpriced: boolean;
  steps: WireStep[];
  /** Other sources' spans of the request past the per-request bound: counted, not kept as steps. */
  droppedSteps: number;
  content: WireContent | null;
  scores: WireScore[];
  /** Who the request was made for; null when nobody was set. */
  userId: string | null;
  tenantId: string | null;
  /** Custom properties (key to value); {} when none. */
  properties: Record<string, string>;
}

export type WireScoreKind = 'numeric' | 'boolean' | 'label';
export type WireScorePolarity = 'positive' | 'negative' | 'neutral';

/** A score given to a request: user feedback (`user_feedback`) or an evaluation. */
export interface WireScore {
  name: string;
  kind: WireScoreKind;
  value: number | null;
  label: string | null;
  polarity: WireScorePolarity;
  comment: string | null;
  source: string | null;
  timestamp: string;
}

/** The body of POST api/requests/{id}/scores: `name` and one of `boolean`, `value` (with an optional `label`) or `label`. */
export interface WireScoreInput {
  name: string;
  boolean?: boolean;
  value?: number;
  label?: string;
  comment?: string;
  source?: string;
  polarity?: WireScorePolarity;
}

export interface WireFeedbackRow {
  route: string;
  model: string;
  positive: number;
  negative: number;
  /** positive / (positive + negative); null without feedback. */
  ratio: number | null;
}

export interface WireFeedback {
  window: SummaryWindow;
  from: string;
  to: string;
  positive: number;
  negative: number;
  ratio: number | null;
  rows: WireFeedbackRow[];
}

// api/prices: the price entries in force, rates in US dollars per million tokens.
export interface WirePriceFile {
  path: string;
  loadedAt: string | null;
  failedAt: string | null;
  /** Why the last reading failed (the last good prices stay in force); null when it succeeded. */
  error: string | null;
  entries: number;
}

export interface WirePriceTier {
  id: string;
  aboveInputTokens: number;
  inputPerMillion: number;
  cachedInputPerMillion: number | null;
  cacheWritePerMillion: number | null;
  outputPerMillion: number;
}

export interface WirePrice {
  id: string;
  provider: string | null;
  model: string;
  kind: string | null;
  origin: string;
  inputPerMillion: number;
  cachedInputPerMillion: number | null;
  cacheWritePerMillion: number | null;
  outputPerMillion: number;
  tiers: WirePriceTier[];
  source: string | null;
  date: string | null;
}

export interface WirePrices {
  updated: string | null;
  file: WirePriceFile | null;
  entries: WirePrice[];
}

export interface WireRequestTokens extends WireTokenTotals {
  estimated: boolean;
}

/** Captured prompt and completion, after redaction; only while content capture is on. */
export interface WireContent {
  prompt: string | null;
  completion: string | null;
}

export interface WireRequestPage {
  items: WireRequestRecord[];
  nextCursor: string | null;
}

export interface WireBucket extends WireFigures {
  start: string;
  errorsByType: Record<string, number>;
  /** The bucket's slowest request; null without requests. */
  slowest: WireSlowest | null;
}

export interface WireSlowest {
  requestId: string;
  durationMs: number;
}

export interface WireTimeseries {
  window: SummaryWindow;
  bucketSeconds: number;
  buckets: WireBucket[];
}

/** RFC 9457 problem details with the service's two extensions. */
export interface WireProblem {
  type?: string | null;
  title?: string | null;
  status?: number | null;
  detail?: string | null;
  instance?: string | null;
  requestId?: string;
  traceId?: string;
  errorType?: string;
  [extension: string]: unknown;
}

export interface WireChatUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  reasoningTokens: number;
  estimated: boolean;
}

/** The `done` event of the chat stream (the POST /api/chat answer without `reply`). */
export interface WireChatDone {
  conversationId: string;
  requestId: string;
  traceId: string;
  model: string;
  usage: WireChatUsage;
  costUsd: number | null;
}

/** `GET api/spend`: the window and dimension. */
export type SpendWindow = '1h' | '24h' | '7d' | '30d';
export type SpendDimension = 'tenant' | 'user' | 'route' | 'model';

/** A row of `api/spend`; `key` is null for the requests without a tenant, user or model. */
export interface WireSpendRow {
  key: string | null;
  requests: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  unpricedRequests: number;
}

/** `GET api/spend`: rows by cost, highest first; `totalCostUsd` covers every key, not only the rows sent. */
export interface WireSpend {
  by: SpendDimension;
  window: SpendWindow;
  from: string;
  to: string;
  totalCostUsd: number;
  rows: WireSpendRow[];
}

export type WireBudgetScope = 'global' | 'tenant' | 'user' | 'route' | 'model';

export type WireBudgetPeriod = 'hour' | 'day' | 'month';

/** One budget and key in its current window (GET api/budgets). `key` is null for a global budget, and for a
 * budget per each value while no value has spent; `ratio` is spentUsd / limitUsd (1 for a zero limit). */
export interface WireBudget {
  name: string;
  scope: WireBudgetScope;
  key: string | null;
  period: WireBudgetPeriod;
  limitUsd: number;
  spentUsd: number;
  ratio: number;
  hard: boolean;
  /** ISO time when the window ends and the budget starts from zero. */
  resetsAt: string;
}

export interface WireBudgets {
  budgets: WireBudget[];
}

/** A row of `api/replicas`: a replica (`service.instance.id`), its requests in the window and when the last started. */
export interface WireReplica {
  replica: string;
  requests: number;
  lastRequestAt: string;
}

/** `GET api/replicas`: the replicas that served requests in the window, the most recently seen first (at most 100). */
export interface WireReplicas {
  window: SummaryWindow;
  from: string;
  to: string;
  replicas: WireReplica[];
}
