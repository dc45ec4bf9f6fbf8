namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Shares the summary and time series among the dashboards that poll them: concurrent requests for the same
/// key wait for one computation, and its result serves the same key for <see cref="Lifetime"/>, so that the cost of
/// open dashboards does not grow with their number. A computation that fails is not kept.</summary>
internal sealed class LlmApmAggregateCache(TimeProvider time)
{
    /// <summary>How long a result serves: the dashboard polls every few seconds, and a figure two seconds old is news.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(2);

    // The keys are the window and the filters: a filter is the client's text, so the cache forgets everything past this
    // many keys rather than grow with what clients send.
    private const int MaxKeys = 256;

    private readonly Lock gate = new();
    private readonly Dictionary<string, Entry> entries = new(StringComparer.Ordinal);

    public T Get<T>(string key, Func<T> compute)
        where T : class
    {
        var now = time.GetTimestamp();
        Entry entry;
        lock (this.gate)
        {
            if (!this.entries.TryGetValue(key, out entry!) || time.GetElapsedTime(entry.Created, now) >= Lifetime)
            {
                if (this.entries.Count >= MaxKeys)
                {
                    this.entries.Clear();
                }

                entry = new Entry(now, new Lazy<object>(compute, LazyThreadSafetyMode.ExecutionAndPublication));
                this.entries[key] = entry;
            }
        }

        try
        {
            return (T)entry.Value.Value;
        }
        catch
        {
            lock (this.gate)
            {
                if (this.entries.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
                {
                    this.entries.Remove(key);
                }
            }

            throw;
        }
    }

    private sealed record Entry(long Created, Lazy<object> Value);
}
