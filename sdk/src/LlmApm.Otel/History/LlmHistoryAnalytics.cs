namespace LlmApm.Otel.History;

/// <summary>Summaries and time series as served by the history API, added up from the cells of
/// <see cref="ILlmHistoryStore.Aggregate"/>; and those cells from records, for a store that keeps no aggregates.</summary>
internal static class LlmHistoryAnalytics
{
    /// <summary>Groups the records that started in the query's window and pass its filters by model and bucket: the
    /// default <see cref="ILlmHistoryStore.Aggregate"/>, which reads every record.</summary>
    /// <param name="records">The records, in any order.</param>
    /// <param name="query">The window, bucket and filters.</param>
    /// <returns>The non-empty cells.</returns>
    public static IReadOnlyList<LlmHistoryCell> Aggregate(IEnumerable<LlmRequestRecord> records, LlmHistoryAggregateQuery query)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(query);
        var bucketTicks = Math.Max(1, query.Bucket.Ticks);
        var cells = new Dictionary<(long Bucket, string? Model), LlmHistoryFiguresBuilder>();
        foreach (var record in records)
        {
            if (record.StartTime < query.From || record.StartTime >= query.To
                || (query.Model is not null && !string.Equals(record.Model, query.Model, StringComparison.Ordinal))
                || (query.Route is not null && !string.Equals(record.Route, query.Route, StringComparison.Ordinal))
                || (query.Replica is not null && !string.Equals(record.Replica, query.Replica, StringComparison.Ordinal)))
            {
                continue;
            }

            var key = ((record.StartTime.UtcTicks - query.From.UtcTicks) / bucketTicks, record.Model);
            if (!cells.TryGetValue(key, out var figures))
            {
                cells[key] = figures = new LlmHistoryFiguresBuilder();
            }

            figures.Add(record);
        }

        return [.. cells.Select(pair => pair.Value.ToCell(query.From + TimeSpan.FromTicks(pair.Key.Bucket * bucketTicks), pair.Key.Model))];
    }

    /// <summary>Summarises the records that started in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    /// <param name="records">The records, in any order.</param>
    /// <param name="from">The window start.</param>
    /// <param name="to">The window end.</param>
    /// <returns>The summary.</returns>
    public static LlmHistorySummary Summarize(IEnumerable<LlmRequestRecord> records, DateTimeOffset from, DateTimeOffset to)
        => SummarizeCells(Aggregate(records, new LlmHistoryAggregateQuery { From = from, To = to, Bucket = to - from }), from, to);

    /// <summary>Summarises cells: the window's figures, and the same per model.</summary>
    /// <param name="cells">The cells of the window, any bucket.</param>
    /// <param name="from">The window start.</param>
    /// <param name="to">The window end.</param>
    /// <returns>The summary.</returns>
    public static LlmHistorySummary SummarizeCells(IEnumerable<LlmHistoryCell> cells, DateTimeOffset from, DateTimeOffset to)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var all = new LlmHistoryFiguresBuilder();
        var byModel = new Dictionary<string, LlmHistoryFiguresBuilder>(StringComparer.Ordinal);
        foreach (var cell in cells)
        {
            all.Add(cell);
            var model = cell.Model ?? "unknown";
            if (!byModel.TryGetValue(model, out var figures))
            {
                byModel[model] = figures = new LlmHistoryFiguresBuilder();
            }

            figures.Add(cell);
        }

        return all.Fill(new LlmHistorySummary
        {
            From = from,
            To = to,
            ErrorsByType = all.ErrorsByType(),
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
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bucket, TimeSpan.Zero);
        var start = AlignDown(from, bucket);
        return TimeSeriesOfCells(Aggregate(records, new LlmHistoryAggregateQuery { From = start, To = to, Bucket = bucket }), start, to, bucket);
    }

    /// <summary>Buckets cells of <paramref name="bucket"/> width into a series over [<paramref name="from"/>,
    /// <paramref name="to"/>), oldest first, empty buckets included.</summary>
    /// <param name="cells">The cells, whose starts are <paramref name="from"/> aligned down plus whole buckets.</param>
    /// <param name="from">The window start; aligned down to a whole bucket.</param>
    /// <param name="to">The window end.</param>
    /// <param name="bucket">The bucket width.</param>
    /// <returns>The buckets.</returns>
    public static IReadOnlyList<LlmTimeBucket> TimeSeriesOfCells(IEnumerable<LlmHistoryCell> cells, DateTimeOffset from, DateTimeOffset to, TimeSpan bucket)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(bucket, TimeSpan.Zero);
        var start = AlignDown(from, bucket);
        var count = (int)Math.Ceiling((to - start) / bucket);
        count = Math.Clamp(count, 1, 10_000);
        var figures = new LlmHistoryFiguresBuilder[count];
        for (var i = 0; i < count; i++)
        {
            figures[i] = new LlmHistoryFiguresBuilder();
        }

        foreach (var cell in cells)
        {
            if (cell.Start < start || cell.Start >= to)
            {
                continue;
            }

            var index = (int)((cell.Start - start).Ticks / bucket.Ticks);
            if (index >= 0 && index < count)
            {
                figures[index].Add(cell);
            }
        }

        var result = new LlmTimeBucket[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = figures[i].Fill(new LlmTimeBucket { Start = start + (bucket * i), ErrorsByType = figures[i].ErrorsByType(), Slowest = figures[i].Slowest });
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

    internal static DateTimeOffset AlignDown(DateTimeOffset time, TimeSpan step)
        => new(time.UtcTicks - (time.UtcTicks % step.Ticks), TimeSpan.Zero);
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

/// <summary>Latency figures in milliseconds: the exact mean, percentiles read from <see cref="LlmLatencyBuckets"/>.</summary>
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

    /// <summary>Gets or sets the input tokens written to the provider's cache.</summary>
    public long CacheWriteInput { get; set; }

    /// <summary>Gets or sets the reasoning tokens.</summary>
    public long Reasoning { get; set; }

    /// <summary>Gets the sum of input and output tokens.</summary>
    public long Total => this.Input + this.Output;
}
