import type { EventSourceLike } from '../api/liveStream';
import type { WireRequestRecord, WireSummary } from '../api/wireTypes';

/** A controllable stand-in for the browser's EventSource. */
export class FakeEventSource implements EventSourceLike {
  static instances: FakeEventSource[] = [];
  readyState = 0;
  closed = false;
  onopen: EventSourceLike['onopen'] = null;
  onerror: EventSourceLike['onerror'] = null;
  private readonly listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();

  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.call(this, new Event('open'));
  }

  fail(): void {
    this.readyState = 2;
    this.onerror?.call(this, new Event('error'));
  }

  emit(type: string, data: unknown): void {
    const event = new MessageEvent<string>(type, { data: JSON.stringify(data) });
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  static latest(): FakeEventSource {
    const last = FakeEventSource.instances[FakeEventSource.instances.length - 1];
    if (!last) throw new Error('no EventSource was created');
    return last;
  }
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });
}

export function record(overrides: Partial<WireRequestRecord> = {}): WireRequestRecord {
  return {
    id: 'b0f3c3d2a6f54f5c9a7b0a3f1e2d4c5b',
    seq: 1,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    startTime: '2026-11-26T20:04:59.123Z',
    durationMs: 1000,
    route: '/api/chat',
    model: 'gpt-4o-mini',
    provider: 'simulated',
    conversationId: null,
    replica: 'chat-1',
    status: 'ok',
    errorType: null,
    errorMessage: null,
    tokens: { input: 120, output: 45, cachedInput: 0, cacheWriteInput: 0, reasoning: 0, total: 165, estimated: false },
    costUsd: 0.000045,
    unpriced: false,
    steps: [
      { name: 'preprocessing', offsetMs: 0, durationMs: 100, status: 'ok', errorType: null, depth: 0, kind: 'step', price: null },
      { name: 'llm_api_call', offsetMs: 100, durationMs: 800, status: 'ok', errorType: null, depth: 0, kind: 'llm_call', price: null },
      { name: 'response_parsing', offsetMs: 900, durationMs: 50, status: 'ok', errorType: null, depth: 0, kind: 'step', price: null },
    ],
    droppedSteps: 0,
    content: null,
    scores: [],
    userId: null,
    tenantId: null,
    properties: {},
    ...overrides,
  };
}

export function summary(overrides: Partial<WireSummary> = {}): WireSummary {
  const latencyMs = { avg: 812.4, p50: 640.1, p95: 1900.2, p99: 2400.0 };
  const tokens = { input: 14000, output: 9000, cachedInput: 0, cacheWriteInput: 0, reasoning: 0, total: 23000 };
  return {
    window: '5m',
    from: '2026-11-26T20:00:00Z',
    to: '2026-11-26T20:05:00Z',
    count: 120,
    errorCount: 6,
    errorRate: 0.05,
    latencyMs,
    tokens,
    costUsd: 0.0123,
    unpricedCount: 0,
    errorsByType: { rate_limited: 4, timeout: 2 },
    byModel: [{ model: 'gpt-4o-mini', count: 120, errorCount: 6, errorRate: 0.05, latencyMs, tokens, costUsd: 0.0123, unpricedCount: 0 }],
    ...overrides,
  };
}
