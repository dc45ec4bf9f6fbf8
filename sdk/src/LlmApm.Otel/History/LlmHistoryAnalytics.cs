namespace LlmApm.Otel.History;

/// <summary>Summaries and time series over history records, as served by the history API.</summary>
internal static class LlmHistoryAnalytics
{
    /// <summary>Summarises the records that started in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    /// <param name="records">The records, in any order.</param>
    /// <param name="from">The window start.</param>
    /// <param name="to">The window end.</param>
    /// <returns>The summary.</returns>
    public static LlmHistorySummary Summarize(IEnumerable<LlmRequestRecord> records, DateTimeOffset from, DateTimeOffset to)
    {
        ArgumentNullException.ThrowIfNull(records);
        var all = new Aggregate();
        var byModel = new Dictionary<string, Aggregate>(StringComparer.Ordinal);
        var errorsByType = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record.StartTime < from || record.StartTime >= to)
            {
                continue;
            }

            all.Add(record);
            var model = record.Model ?? "unknown";
            if (!byModel.TryGetValue(model, out var aggregate))
            {
                byModel[model] = aggregate = new Aggregate();
            }

            aggregate.Add(record);
            if (record.ErrorType is { } type)
            {
                errorsByType[type] = errorsByType.GetValueOrDefault(type) + 1;
            }
        }

        return all.Fill(new LlmHistorySummary
        {
            From = from,
            To = to,
            ErrorsByType = errorsByType,
            ByModel = byModel
                .OrderByDescending(pair => pair.Value.Count)
                .ThenBy(pair => pair.Key, StringComparer.Ordinal)
                .Select(pair => pair.Value.Fill(new LlmModelSummary { Model = pair.Key }))
                .ToList(),
        });
    }

    /// <summary>Buckets the records that started in [<paramref name="from"/>, <paramref name="to"/>), oldest first,
    /// empty buckets included.</summary>
    /// <param name="records">The records, in any order.</param>
    /// <param name="from">The window start; aligned down to a whole bucket.</param>
    /// <param name="to">The window end.</param>
    /// <param name="bucket">The bucket width.</param>
    /// <returns>The buckets.</returns>
    public static IReadOnlyList<LlmTimeBucket> TimeSeries(IEnumerable<LlmRequestRecord> records, DateTimeOffset from, DateTimeOffset to, TimeSpan bucket)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bucket, TimeSpan.Zero);
        var start = new DateTimeOffset(from.UtcTicks - (from.UtcTicks % bucket.Ticks), TimeSpan.Zero);
        var count = (int)Math.Ceiling((to - start) / bucket);
        count = Math.Clamp(count, 1, 10_000);
        var aggregates = new Aggregate[count];
        var errors = new SortedDictionary<string, long>[count];
        for (var i = 0; i < count; i++)
        {
            aggregates[i] = new Aggregate();
            errors[i] = new SortedDictionary<string, long>(StringComparer.Ordinal);
        }

        foreach (var record in records)
        {
            if (record.StartTime < start || record.StartTime >= to)
            {
                continue;
            }

            var index = (int)((record.StartTime - start) / bucket);
            if (index < 0 || index >= count)
            {
                continue;
            }

            aggregates[index].Add(record);
            if (record.ErrorType is { } type)
            {
                errors[index][type] = errors[index].GetValueOrDefault(type) + 1;
            }
        }

        var result = new LlmTimeBucket[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = aggregates[i].Fill(new LlmTimeBucket { Start = start + (bucket * i), ErrorsByType = errors[i], Slowest = aggregates[i].Slowest });
        }

        return result;
    }

    /// <summary>The nearest-rank percentile of sorted values.</summary>
    internal static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    private sealed class Aggregate
    {
        private readonly List<double> durations = [];
        private double durationSum;

        public long Count { get; private set; }

        public long Errors { get; private set; }

        public double ErrorRate => this.Count == 0 ? 0 : (double)this.Errors / this.Count;

        public LlmTokenTotals Tokens { get; } = new();

        public decimal Cost { get; private set; }

        public long Unpriced { get; private set; }

        /// <summary>Gets the slowest request added, the first of equals; <see langword="null"/> without requests.</summary>
        public LlmSlowestRequest? Slowest { get; private set; }

        public void Add(LlmRequestRecord record)
        {
            this.Count++;
            if (this.Slowest is null || record.DurationMs > this.Slowest.DurationMs)
            {
                this.Slowest = new LlmSlowestRequest(record.Id, record.DurationMs);
            }

            if (!string.Equals(record.Status, "ok", StringComparison.Ordinal))
            {
                this.Errors++;
            }

            this.durations.Add(record.DurationMs);
            this.durationSum += record.DurationMs;
            this.Tokens.Input += record.Usage.InputTokens;
            this.Tokens.Output += record.Usage.OutputTokens;
            this.Tokens.CachedInput += record.Usage.CachedInputTokens;
            this.Tokens.Reasoning += record.Usage.ReasoningTokens;
            this.Cost += record.CostUsd ?? 0;
            if (record.Unpriced)
            {
                this.Unpriced++;
            }
        }

        public T Fill<T>(T figures)
            where T : LlmHistoryFigures
        {
            figures.Count = this.Count;
            figures.ErrorCount = this.Errors;
            figures.ErrorRate = this.ErrorRate;
            figures.LatencyMs = this.Latency();
            figures.Tokens = this.Tokens;
            figures.CostUsd = this.Cost;
            figures.UnpricedCount = this.Unpriced;
            return figures;
        }

        private LlmLatencySummary? Latency()
        {
            if (this.durations.Count == 0)
            {
                return null;
            }

            this.durations.Sort();
            return new LlmLatencySummary
            {
                Avg = this.durationSum / this.durations.Count,
                P50 = Percentile(this.durations, 0.50),
                P95 = Percentile(this.durations, 0.95),
                P99 = Percentile(this.durations, 0.99),
            };
        }
    }
}

/// <summary>The figures of a set of requests: counts, latency, tokens and cost.</summary>
internal abstract class LlmHistoryFigures
{
    /// <summary>Gets or sets the number of requests.</summary>
    public long Count { get; set; }

    /// <summary>Gets or sets the number of failed requests.</summary>
    public long ErrorCount { get; set; }

    /// <summary>Gets or sets the failed share of requests, 0 to 1.</summary>
    public double ErrorRate { get; set; }

    /// <summary>Gets or sets the latency figures in milliseconds; <see langword="null"/> without requests (an empty
    /// bucket has no latency, not a latency of 0).</summary>
    public LlmLatencySummary? LatencyMs { get; set; }

    /// <summary>Gets or sets the token totals.</summary>
    public LlmTokenTotals Tokens { get; set; } = new();

    /// <summary>Gets or sets the total known cost in US dollars: the requests counted in
    /// <see cref="UnpricedCount"/> add an unknown amount on top, so it is a lower bound when that is not 0.</summary>
    public decimal CostUsd { get; set; }

    /// <summary>Gets or sets the number of requests whose cost is unknown (a model without a price).</summary>
    public long UnpricedCount { get; set; }
}

/// <summary>A summary of the history over a window.</summary>
internal sealed class LlmHistorySummary : LlmHistoryFigures
{
    /// <summary>Gets or sets the window start.</summary>
    public DateTimeOffset From { get; set; }

    /// <summary>Gets or sets the window end.</summary>
    public DateTimeOffset To { get; set; }

    /// <summary>Gets or sets the failed requests by error type.</summary>
    public IDictionary<string, long> ErrorsByType { get; set; } = new SortedDictionary<string, long>();

    /// <summary>Gets or sets the same figures per model, most used first.</summary>
    public IReadOnlyList<LlmModelSummary> ByModel { get; set; } = [];
}

/// <summary>The figures of one model in a summary.</summary>
internal sealed class LlmModelSummary : LlmHistoryFigures
{
    /// <summary>Gets or sets the model.</summary>
    public required string Model { get; set; }
}

/// <summary>One bucket of a time series.</summary>
internal sealed class LlmTimeBucket : LlmHistoryFigures
{
    /// <summary>Gets or sets the bucket start.</summary>
    public DateTimeOffset Start { get; set; }

    /// <summary>Gets or sets the failed requests by error type.</summary>
    public IDictionary<string, long> ErrorsByType { get; set; } = new SortedDictionary<string, long>();

    /// <summary>Gets or sets the bucket's slowest request, which a latency chart links to; <see langword="null"/>
    /// without requests.</summary>
    public LlmSlowestRequest? Slowest { get; set; }
}

/// <summary>The slowest request of a bucket: its id and duration.</summary>
/// <param name="RequestId">The request id.</param>
/// <param name="DurationMs">The duration in milliseconds.</param>
internal sealed record LlmSlowestRequest(string RequestId, double DurationMs);

/// <summary>Latency figures in milliseconds (nearest-rank percentiles).</summary>
internal sealed class LlmLatencySummary
{
    /// <summary>Gets or sets the mean.</summary>
    public double Avg { get; set; }

    /// <summary>Gets or sets the median.</summary>
    public double P50 { get; set; }

    /// <summary>Gets or sets the 95th percentile.</summary>
    public double P95 { get; set; }

    /// <summary>Gets or sets the 99th percentile.</summary>
    public double P99 { get; set; }
}

/// <summary>Token totals.</summary>
internal sealed class LlmTokenTotals
{
    /// <summary>Gets or sets the input tokens.</summary>
    public long Input { get; set; }

    /// <summary>Gets or sets the output tokens.</summary>
    public long Output { get; set; }

    /// <summary>Gets or sets the cached input tokens.</summary>
    public long CachedInput { get; set; }

    /// <summary>Gets or sets the reasoning tokens.</summary>
    public long Reasoning { get; set; }

    /// <summary>Gets the sum of input and output tokens.</summary>
    public long Total => this.Input + this.Output;
}
