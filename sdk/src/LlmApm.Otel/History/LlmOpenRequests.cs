using System.Collections.Concurrent;
using System.Diagnostics;

namespace LlmApm.Otel.History;

/// <summary>
/// The hand-off from requests to the history processor: each request in progress, found by its span. A request
/// opens its entry when it starts; the processor finds a step's request through the step span's ancestors and takes
/// the entry when the request span ends.
/// </summary>
/// <remarks>Keyed by span id and swept of orphans (requests never disposed) once per orphan timeout (at least a
/// second apart), so an orphan is held at most about twice its timeout. A ConditionalWeakTable keyed on the span cost a
/// GC handle per request, 24–35% of a request with four steps in <c>StepBenchmarks</c>; keyed by the span's reference
/// instead of its id measured no faster (retired).</remarks>
internal sealed class LlmOpenRequests
{
    private const long MinSweepIntervalMs = 1_000;

    private readonly ConcurrentDictionary<ActivitySpanId, LlmStepBuffer> open = new();
    private long nextSweep = Environment.TickCount64 + MinSweepIntervalMs;

    public int Count => this.open.Count;

    public void Open(Activity requestSpan, LlmStepBuffer buffer)
    {
        this.open[requestSpan.SpanId] = buffer;
        var now = Environment.TickCount64;
        var due = Volatile.Read(ref this.nextSweep);
        if (now >= due)
        {
            var interval = Math.Max(MinSweepIntervalMs, (long)buffer.OrphanTimeout.TotalMilliseconds);
            if (Interlocked.CompareExchange(ref this.nextSweep, now + interval, due) == due)
            {
                this.Sweep();
            }
        }
    }

    /// <summary>Finds the open request whose span is <paramref name="span"/>. The flow's ambient request is tried first,
    /// by reference and with no hash (about 2% of a request with 4 steps by perf samples), when its entry is open in this
    /// table: another host's table sees the same spans.</summary>
    public bool TryGet(Activity span, LlmRequest? ambient, out LlmStepBuffer buffer)
    {
        if (ambient?.History is { IsOpen: true } mine
            && ReferenceEquals(ambient.Activity, span)
            && ReferenceEquals(ambient.Instrumentation?.OpenRequests, this))
        {
            buffer = mine;
            return true;
        }

        return this.open.TryGetValue(span.SpanId, out buffer!);
    }

    /// <summary>Takes the entry of a request span that ends; the buffer is marked closed, so that the request need not
    /// close it.</summary>
    public bool TryTake(Activity requestSpan, out LlmStepBuffer buffer)
    {
        // A lock-free look first: TryRemove takes its stripe's lock whenever that stripe holds any request.
        if (!this.open.TryGetValue(requestSpan.SpanId, out buffer!) || !this.open.TryRemove(requestSpan.SpanId, out buffer!))
        {
            return false;
        }

        buffer.MarkClosed();
        return true;
    }

    public void Close(Activity requestSpan)
    {
        if (this.open.TryRemove(requestSpan.SpanId, out var buffer))
        {
            buffer.MarkClosed();
        }
    }

    /// <summary>Drops the entries of requests older than their orphan timeout, whose spans will never end.</summary>
    internal int Sweep()
    {
        var swept = 0;
        foreach (var entry in this.open)
        {
            if (entry.Value.IsOrphaned && this.open.TryRemove(entry))
            {
                entry.Value.MarkClosed();
                swept++;
            }
        }

        if (swept > 0)
        {
            LlmApmEventSource.Log.OrphansEvicted(swept);
        }

        return swept;
    }
}
