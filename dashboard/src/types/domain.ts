// Domain types: what components render. Built from the wire types by src/model.

export type RequestStatus = 'ok' | 'error';

export interface TokenCounts {
  input: number;
  output: number;
  cachedInput: number;
  cacheWriteInput: number;
  reasoning: number;
  total: number;
}

/** What a step is: LLM-APM's kinds, or another source's (http, db, ...) kept as given. */
export type StepKind = 'llm_call' | 'tool' | 'embedding' | 'agent' | 'step' | (string & {});

export interface Step {
  name: string;
  offsetMs: number;
  durationMs: number;
  status: RequestStatus;
  errorType: string | null;
  depth: number;
  kind: StepKind;
  /** For an LLM call, the price entry its cost used; null otherwise or from older services. */
  price: string | null;
}

export interface RequestRecord {
  id: string;
  seq: number;
  traceId: string;
  spanId: string | null;
  startTime: Date;
  durationMs: number;
  route: string;
  model: string | null;
  provider: string | null;
  conversationId: string | null;
  /** The replica (service.instance.id) that served the request; null for records kept before replicas were. */
  replica: string | null;
  status: RequestStatus;
  errorType: string | null;
  errorMessage: string | null;
  tokens: TokenCounts & { estimated: boolean };
  /** null when the model has no price: unknown, not zero. */
  costUsd: number | null;
  steps: Step[];
  /** Other sources' spans past the per-request bound, counted but not kept. */
  droppedSteps: number;
  content: { prompt: string | null; completion: string | null } | null;
  scores: Score[];
  /** Who the request was made for; null when nobody was set. */
  userId: string | null;
  tenantId: string | null;
  properties: Record<string, string>;
}

/** A score given to a request: user feedback (`user_feedback`) or an evaluation. */
export interface Score {
  name: string;
  kind: 'numeric' | 'boolean' | 'label';
  value: number | null;
  label: string | null;
  polarity: 'positive' | 'negative' | 'neutral';
  comment: string | null;
  source: string | null;
  timestamp: Date;
}

/** The user feedback of one route and model in a window. */
export interface FeedbackRow {
  route: string;
  model: string;
  positive: number;
  negative: number;
  ratio: number | null;
}

export interface Latency {
  avg: number;
  p50: number;
  p95: number;
  p99: number;
}

/** The figures every summary, per-model row and time bucket carries. */
export interface Figures {
  count: number;
  errorCount: number;
  errorRate: number;
  /** null without requests: no latency, not a latency of 0. */
  latencyMs: Latency | null;
  tokens: TokenCounts;
  /** The known cost; with unpricedCount > 0 the true cost is higher by an unknown amount. */
  costUsd: number;
  unpricedCount: number;
}

export interface ModelSummary extends Figures {
  model: string;
}

export interface Summary extends Figures {
  window: string;
  from: Date;
  to: Date;
  errorsByType: Record<string, number>;
  byModel: ModelSummary[];
}

export interface TimeBucket extends Figures {
  start: Date;
  errorsByType: Record<string, number>;
  /** The bucket's slowest request, which the latency chart links to; null without requests. */
  slowest: { requestId: string; durationMs: number } | null;
}

export interface Timeseries {
  bucketSeconds: number;
  buckets: TimeBucket[];
}

export interface RequestFilter {
  status: '' | RequestStatus;
  model: string;
  route: string;
  /** The replica (service.instance.id), or '' for all. */
  replica: string;
  q: string;
  /** Only requests with a negative score (a thumbs down, a failed evaluation). */
  negative: boolean;
  /** The exact user id, or '' for all. */
  user: string;
  /** The exact tenant id, or '' for all. */
  tenant: string;
  /** `key` (has the property) or `key:value`, or '' for all. */
  property: string;
}
