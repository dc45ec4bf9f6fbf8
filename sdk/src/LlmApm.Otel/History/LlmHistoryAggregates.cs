namespace LlmApm.Otel.History;

/// <summary>What <see cref="ILlmHistoryStore.Aggregate"/> is asked: the requests that started in
/// [<see cref="From"/>, <see cref="To"/>), passing the filters, grouped by model and by <see cref="Bucket"/> of time.</summary>
public sealed class LlmHistoryAggregateQuery
{
    /// <summary>Gets the window start (inclusive). A store that keeps aggregates at a resolution (a minute) reads whole
    /// periods: it counts from this time aligned down to its resolution, and says so in the cells' start.</summary>
    public DateTimeOffset From { get; init; }

    /// <summary>Gets the window end (exclusive).</summary>
    public DateTimeOffset To { get; init; }

    /// <summary>Gets the width of a cell's bucket of time; the whole window for a summary.</summary>
    public TimeSpan Bucket { get; init; }

    /// <summary>Gets the exact model filter, or <c>null</c>.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the exact route filter, or <c>null</c>.</summary>
    public string? Route { get; init; }

    /// <summary>Gets the exact replica filter, or <c>null</c>.</summary>
    public string? Replica { get; init; }
}

/// <summary>The figures of the requests of one model that started in one bucket of an aggregate: what summaries, model
/// rows and time series are added up from, so that a store answers them without reading every record.</summary>
public sealed class LlmHistoryCell
{
    /// <summary>Gets the bucket's start: <see cref="LlmHistoryAggregateQuery.From"/> plus a whole number of buckets.</summary>
    public DateTimeOffset Start { get; init; }

    /// <summary>Gets the model, or <c>null</c> for requests without one.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the number of requests.</summary>
    public long Count { get; init; }

    /// <summary>Gets the number of failed requests.</summary>
    public long ErrorCount { get; init; }

    /// <summary>Gets the sum of the durations in milliseconds.</summary>
    public double DurationSumMs { get; init; }

    /// <summary>Gets the token totals (<see cref="LlmUsage.Estimated"/> is not kept).</summary>
    public LlmUsage Tokens { get; init; }

    /// <summary>Gets the known cost in US dollars, summed exactly.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>Gets the number of requests whose cost is unknown.</summary>
    public long UnpricedCount { get; init; }

    /// <summary>Gets the failed requests by error type.</summary>
    public IReadOnlyDictionary<string, long> ErrorsByType { get; init; } = new Dictionary<string, long>();

    /// <summary>Gets the number of requests per latency bucket of <see cref="LlmLatencyBuckets"/>, by index; empty means
    /// none.</summary>
    public IReadOnlyList<long> LatencyCounts { get; init; } = [];

    /// <summary>Gets the id of the cell's slowest request, which a latency chart links to; <c>null</c> when the store
    /// does not know it.</summary>
    public string? SlowestRequestId { get; init; }

    /// <summary>Gets the duration in milliseconds of <see cref="SlowestRequestId"/>.</summary>
    public double SlowestDurationMs { get; init; }
}

/// <summary>The fixed latency buckets of the history's aggregates, as a Prometheus histogram's: bucket <c>i</c> counts
/// durations in (<c>UpperBound(i - 1)</c>, <c>UpperBound(i)</c>], with <c>UpperBound(i) = 0.1 ms × 2^(i/8)</c>, bucket 0
/// everything up to 0.1 ms and the last everything above 56 minutes. A percentile read from them is within one bucket
/// of the true value: at most 9.06% above or below it (0.1 ms below 0.1 ms).</summary>
public static class LlmLatencyBuckets
{
    /// <summary>The number of buckets.</summary>
    public const int Count = 202;

    private static readonly double[] Bounds = [.. Enumerable.Range(0, Count).Select(i => i == Count - 1 ? double.PositiveInfinity : 0.1 * Math.Pow(2, i / 8.0))];

    /// <summary>Gets the bucket of a duration.</summary>
    /// <param name="durationMs">The duration in milliseconds.</param>
    /// <returns>The index, 0 to <see cref="Count"/> - 1.</returns>
    public static int IndexOf(double durationMs)
    {
        if (!(durationMs > 0.1))
        {
            return 0;
        }

        // log2 gives the bucket up to rounding: one step either way puts a value on a bound in the right one.
        var index = Math.Clamp((int)Math.Ceiling(Math.Log2(durationMs / 0.1) * 8), 0, Count - 1);
        while (index < Count - 1 && durationMs > UpperBound(index))
        {
            index++;
        }

        while (index > 0 && durationMs <= UpperBound(index - 1))
        {
            index--;
        }

        return index;
    }

    /// <summary>Gets the upper bound of a bucket in milliseconds; <see cref="double.PositiveInfinity"/> for the last.</summary>
    /// <param name="index">The bucket, 0 to <see cref="Count"/> - 1.</param>
    /// <returns>The bound.</returns>
    public static double UpperBound(int index) => Bounds[Math.Clamp(index, 0, Count - 1)];
}
