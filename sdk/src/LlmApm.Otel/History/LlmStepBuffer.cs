using System.Diagnostics;

namespace LlmApm.Otel.History;

/// <summary>
/// The ended steps of one request in progress, kept for its history record until its span ends. Bounded: a request
/// that never ends must not hold memory without bound.
/// </summary>
/// <remarks>It locks itself: it is internal and a lock object of its own would cost each request one more allocation.</remarks>
internal sealed class LlmStepBuffer
{
    internal const int MaxSteps = 256;

    private LlmStepRecord[]? steps;
    private int count;
    private int sourceSteps;
    private int droppedSteps;
    private bool evicted;
    private volatile bool closed;

    // The timeout is read from the request's options, not kept here: 16 B less per request.
    public LlmStepBuffer(LlmRequest request) => this.Request = request;

    /// <summary>Gets the request whose steps these are.</summary>
    public LlmRequest Request { get; }

    /// <summary>Gets how long the request may run before its steps are dropped as an orphan's.</summary>
    public TimeSpan OrphanTimeout => this.Request.Instrumentation!.Options.OrphanTimeout;

    /// <summary>Gets whether the request has outlived its orphan timeout: its span will not end.</summary>
    public bool IsOrphaned => Stopwatch.GetElapsedTime(this.Request.StartTimestamp) > this.OrphanTimeout;

    /// <summary>Gets whether the buffer is still in the open requests' table: not taken by the processor as the request
    /// span ended, closed by the request, or swept as an orphan's.</summary>
    public bool IsOpen => !this.closed;

    /// <summary>Adds a step made from another source's span, unless the request holds <paramref name="max"/> of them
    /// already (or the buffer is full): then it is only counted. Another source cannot evict the request's own steps.</summary>
    public void AddFromSource(LlmStepRecord step, int max)
    {
        lock (this)
        {
            if (this.evicted)
            {
                return;
            }

            if (this.sourceSteps >= max || this.count >= MaxSteps)
            {
                this.droppedSteps++;
                return;
            }

            this.sourceSteps++;
            this.Append(step);
        }
    }

    /// <summary>Adds one of the request's own steps; a step that ends past the orphan timeout evicts them all.</summary>
    /// <param name="step">The step; its offset and duration are from the request span's start.</param>
    public void Add(LlmStepRecord step)
    {
        // The step's end from the request span's start, by the spans' own clocks: no clock read per step (request + 4
        // steps 3.58x -> 3.44x of raw spans, medians of five interleaved runs).
        var endMs = step.OffsetMs + step.DurationMs;
        var timeoutMs = this.OrphanTimeout.TotalMilliseconds;
        lock (this)
        {
            if (this.evicted)
            {
                return;
            }

            if (this.count >= MaxSteps || endMs > timeoutMs)
            {
                this.steps = null;
                this.count = 0;
                this.evicted = true;
                LlmApmEventSource.Log.OrphansEvicted(1);
                return;
            }

            this.Append(step);
        }
    }

    /// <summary>Appends a step; the caller holds the lock.</summary>
    private void Append(LlmStepRecord step)
    {
        // Sized for a typical request and grown by doubling: a full array is handed to the record as it is, so a
        // request of four steps allocates one array for them, not a list, its array and a copy.
        this.steps ??= new LlmStepRecord[4];
        if (this.count == this.steps.Length)
        {
            Array.Resize(ref this.steps, this.steps.Length * 2);
        }

        this.steps[this.count++] = step;
    }

    /// <summary>Takes the steps, in the order they ended, and the number of other sources' spans past the bound.</summary>
    public LlmStepRecord[] Take(out int droppedSteps)
    {
        lock (this)
        {
            var result = this.steps is null ? []
                : this.count == this.steps.Length ? this.steps
                : this.steps.AsSpan(0, this.count).ToArray();
            this.steps = null;
            this.count = 0;
            droppedSteps = this.droppedSteps;
            return result;
        }
    }

    internal void MarkClosed() => this.closed = true;
}
