import type { WireRequestRecord } from './wireTypes';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

/** The part of EventSource the live stream uses, so tests can pass a fake. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((this: EventSourceLike, ev: Event) => unknown) | null;
  onerror: ((this: EventSourceLike, ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

export interface LiveStreamOptions {
  createEventSource?: EventSourceFactory;
  /** First back-off delay; doubles on each failed attempt up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface LiveStreamListener {
  onRecord?: (record: WireRequestRecord) => void;
  /** Called when the stream is open again after a failure: reload what may have been missed. */
  onReconnect?: () => void;
  onStatus?: (status: LiveStatus) => void;
}

/**
 * One shared subscription to `api/stream`. On any error it closes the EventSource and opens a new one
 * after an exponential back-off (the browser's own retry gives up when the service is down or answers
 * with an error status), and tells listeners when the stream is back so they reload their first page.
 */
export class LiveStream {
  private readonly url: string;
  private readonly createEventSource: EventSourceFactory;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly setTimer: (callback: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly listeners = new Set<LiveStreamListener>();
  private source: EventSourceLike | null = null;
  private timer: unknown = null;
  private attempt = 0;
  private hadFailure = false;
  private running = false;
  private currentStatus: LiveStatus = 'closed';

  constructor(url: string, options: LiveStreamOptions = {}) {
    this.url = url;
    this.createEventSource =
      options.createEventSource ?? ((target) => new EventSource(target) as unknown as EventSourceLike);
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 15000;
    this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
  }

  get status(): LiveStatus {
    return this.currentStatus;
  }

  subscribe(listener: LiveStreamListener): () => void {
    this.listeners.add(listener);
    listener.onStatus?.(this.currentStatus);
    return () => {
      this.listeners.delete(listener);
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.source?.close();
    this.source = null;
    this.setStatus('closed');
  }

  /** The delay before reconnect attempt number `attempt` (0-based). */
  backoffDelay(attempt: number): number {
    return Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** attempt);
  }

  private connect(): void {
    this.timer = null;
    if (!this.running) return;
    this.setStatus(this.hadFailure ? 'reconnecting' : 'connecting');
    let source: EventSourceLike;
    try {
      source = this.createEventSource(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.source = source;
    source.onopen = () => {
      if (this.source !== source) return;
      this.attempt = 0;
      this.setStatus('live');
      if (this.hadFailure) {
        this.hadFailure = false;
        for (const listener of [...this.listeners]) listener.onReconnect?.();
      }
    };
    source.onerror = () => {
      if (this.source !== source) return;
      source.close();
      this.source = null;
      this.scheduleReconnect();
    };
    source.addEventListener('request', (event) => {
      if (this.source !== source) return;
      let record: WireRequestRecord;
      try {
        record = JSON.parse(event.data) as WireRequestRecord;
      } catch {
        return;
      }
      for (const listener of [...this.listeners]) listener.onRecord?.(record);
    });
  }

  private scheduleReconnect(): void {
    if (!this.running) return;
    this.hadFailure = true;
    this.setStatus('reconnecting');
    const delay = this.backoffDelay(this.attempt);
    this.attempt += 1;
    this.timer = this.setTimer(() => this.connect(), delay);
  }

  private setStatus(status: LiveStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    for (const listener of [...this.listeners]) listener.onStatus?.(status);
  }
}
