import type {
  WireBucket,
  WireFigures,
  WireRequestRecord,
  WireSummary,
  WireTimeseries,
  WireTokenTotals,
} from '../api/wireTypes';
import type { Figures, RequestRecord, Summary, Timeseries, TokenCounts } from '../types/domain';

function tokensFromWire(tokens: WireTokenTotals | undefined): TokenCounts {
  return {
    input: tokens?.input ?? 0,
    output: tokens?.output ?? 0,
    cachedInput: tokens?.cachedInput ?? 0,
    cacheWriteInput: tokens?.cacheWriteInput ?? 0,
    reasoning: tokens?.reasoning ?? 0,
    total: tokens?.total ?? 0,
  };
}

function figuresFromWire(wire: WireFigures): Figures {
  return {
    count: wire.count,
    errorCount: wire.errorCount,
    errorRate: wire.errorRate,
    latencyMs: wire.latencyMs ? { ...wire.latencyMs } : null,
    tokens: tokensFromWire(wire.tokens),
    costUsd: wire.costUsd ?? 0,
    unpricedCount: wire.unpricedCount ?? 0,
  };
}

export function requestFromWire(wire: WireRequestRecord): RequestRecord {
  return {
    id: wire.id,
    seq: wire.seq,
    traceId: wire.traceId,
    spanId: wire.spanId,
    startTime: new Date(wire.startTime),
    durationMs: wire.durationMs,
    route: wire.route,
    model: wire.model ?? null,
    provider: wire.provider ?? null,
    conversationId: wire.conversationId ?? null,
    replica: wire.replica ?? null,
    status: wire.status === 'error' ? 'error' : 'ok',
    errorType: wire.errorType ?? null,
    errorMessage: wire.errorMessage ?? null,
    tokens: { ...tokensFromWire(wire.tokens), estimated: wire.tokens?.estimated ?? false },
    costUsd: wire.unpriced ? null : (wire.costUsd ?? null),
    steps: (wire.steps ?? []).map((step) => ({
      name: step.name,
      offsetMs: step.offsetMs,
      durationMs: step.durationMs,
      status: step.status === 'error' ? 'error' : 'ok',
      errorType: step.errorType ?? null,
      depth: step.depth ?? 0,
      kind: step.kind ?? 'step',
      price: step.price ?? null,
    })),
    droppedSteps: wire.droppedSteps ?? 0,
    content: wire.content ?? null,
    scores: (wire.scores ?? []).map((score) => ({ ...score, timestamp: new Date(score.timestamp) })),
    userId: wire.userId ?? null,
    tenantId: wire.tenantId ?? null,
    properties: { ...(wire.properties ?? {}) },
  };
}

export function summaryFromWire(wire: WireSummary): Summary {
  return {
    window: wire.window,
    from: new Date(wire.from),
    to: new Date(wire.to),
    ...figuresFromWire(wire),
    errorsByType: { ...(wire.errorsByType ?? {}) },
    byModel: (wire.byModel ?? []).map((model) => ({ model: model.model, ...figuresFromWire(model) })),
  };
}

function bucketFromWire(wire: WireBucket) {
  return {
    start: new Date(wire.start),
    ...figuresFromWire(wire),
    errorsByType: { ...(wire.errorsByType ?? {}) },
    slowest: wire.slowest ? { requestId: wire.slowest.requestId, durationMs: wire.slowest.durationMs } : null,
  };
}

export function timeseriesFromWire(wire: WireTimeseries): Timeseries {
  return { bucketSeconds: wire.bucketSeconds, buckets: wire.buckets.map(bucketFromWire) };
}
