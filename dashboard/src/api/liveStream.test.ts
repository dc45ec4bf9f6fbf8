import { FakeEventSource, record } from '../test/fakes';
import { LiveStream, type LiveStatus } from './liveStream';

describe('LiveStream', () => {
  beforeEach(() => {
    FakeEventSource.instances = [];
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function start() {
    const stream = new LiveStream('http://host/llm-apm/api/stream', {
      createEventSource: (url) => new FakeEventSource(url),
      initialDelayMs: 1000,
      maxDelayMs: 8000,
    });
    const statuses: LiveStatus[] = [];
    const records: string[] = [];
    const onReconnect = vi.fn();
    stream.subscribe({
      onStatus: (status) => statuses.push(status),
      onRecord: (r) => records.push(r.id),
      onReconnect,
    });
    stream.start();
    return { stream, statuses, records, onReconnect };
  }

  it('delivers request events to subscribers', () => {
    const { records } = start();
    const source = FakeEventSource.latest();
    expect(source.url).toBe('http://host/llm-apm/api/stream');
    source.open();
    source.emit('request', record({ id: 'abc' }));
    expect(records).toEqual(['abc']);
  });

  it('closes the failed source, reconnects after a back-off and asks for a reload once open', () => {
    const { statuses, onReconnect } = start();
    const first = FakeEventSource.latest();
    first.open();
    expect(statuses.at(-1)).toBe('live');

    first.fail();
    expect(first.closed).toBe(true);
    expect(statuses.at(-1)).toBe('reconnecting');
    expect(FakeEventSource.instances).toHaveLength(1);

    vi.advanceTimersByTime(999);
    expect(FakeEventSource.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeEventSource.instances).toHaveLength(2);

    // The service is still down: the next attempt waits twice as long.
    FakeEventSource.latest().fail();
    vi.advanceTimersByTime(1999);
    expect(FakeEventSource.instances).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeEventSource.instances).toHaveLength(3);

    expect(onReconnect).not.toHaveBeenCalled();
    FakeEventSource.latest().open();
    expect(onReconnect).toHaveBeenCalledTimes(1);
    expect(statuses.at(-1)).toBe('live');

    // After a successful open the back-off starts again from the first delay.
    FakeEventSource.latest().fail();
    vi.advanceTimersByTime(1000);
    expect(FakeEventSource.instances).toHaveLength(4);
  });

  it('caps the back-off', () => {
    const { stream } = start();
    expect([0, 1, 2, 3, 4, 10].map((attempt) => stream.backoffDelay(attempt))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('ignores events from a source it has replaced and stops cleanly', () => {
    const { stream, records } = start();
    const first = FakeEventSource.latest();
    first.fail();
    first.emit('request', record({ id: 'stale' }));
    expect(records).toEqual([]);
    stream.stop();
    vi.advanceTimersByTime(60000);
    expect(FakeEventSource.instances).toHaveLength(1);
    expect(stream.status).toBe('closed');
  });
});
