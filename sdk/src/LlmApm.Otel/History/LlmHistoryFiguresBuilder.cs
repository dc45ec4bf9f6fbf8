namespace LlmApm.Otel.History;

/// <summary>Adds up requests, or cells of requests, into the figures of a summary, a model row, a bucket or a cell:
/// counts, tokens and cost exactly, latency as a histogram of <see cref="LlmLatencyBuckets"/>.</summary>
internal sealed class LlmHistoryFiguresBuilder
{
    private readonly long[] latency = new long[LlmLatencyBuckets.Count];
    private Dictionary<string, long>? errorsByType;

    public long Count { get; private set; }

    public long Errors { get; private set; }

    public double DurationSumMs { get; private set; }

    public long InputTokens { get; private set; }

    public long OutputTokens { get; private set; }

    public long CachedInputTokens { get; private set; }

    public long CacheWriteInputTokens { get; private set; }

    public long ReasoningTokens { get; private set; }

    public decimal Cost { get; private set; }

    public long Unpriced { get; private set; }

    /// <summary>Gets the slowest request added (the first of equals), which a latency chart links to.</summary>
    public LlmSlowestRequest? Slowest { get; private set; }

    public void Add(LlmRequestRecord record)
    {
        this.Count++;
        if (this.Slowest is null || record.DurationMs > this.Slowest.DurationMs)
        {
            // Only a new slowest reads the id: a record's id is kept packed, and reading it formats a string (request + 4
            // steps: 176 B less, 3.33-3.57x -> 3.21-3.36x of raw spans).
            this.AddSlowest(record.Id, record.DurationMs);
        }
        if (!string.Equals(record.Status, "ok", StringComparison.Ordinal))
        {
            this.Errors++;
        }

        this.DurationSumMs += record.DurationMs;
        this.latency[LlmLatencyBuckets.IndexOf(record.DurationMs)]++;
        this.InputTokens += record.Usage.InputTokens;
        this.OutputTokens += record.Usage.OutputTokens;
        this.CachedInputTokens += record.Usage.CachedInputTokens;
        this.CacheWriteInputTokens += record.Usage.CacheWriteInputTokens;
        this.ReasoningTokens += record.Usage.ReasoningTokens;
        this.Cost += record.CostUsd ?? 0;
        if (record.Unpriced)
        {
            this.Unpriced++;
        }

        if (record.ErrorType is { } type)
        {
            this.errorsByType ??= new(StringComparer.Ordinal);
            this.errorsByType[type] = this.errorsByType.GetValueOrDefault(type) + 1;
        }
    }

    public void Add(LlmHistoryCell cell)
    {
        this.Count += cell.Count;
        this.AddSlowest(cell.SlowestRequestId, cell.SlowestDurationMs);
        this.Errors += cell.ErrorCount;
        this.DurationSumMs += cell.DurationSumMs;
        this.InputTokens += cell.Tokens.InputTokens;
        this.OutputTokens += cell.Tokens.OutputTokens;
        this.CachedInputTokens += cell.Tokens.CachedInputTokens;
        this.CacheWriteInputTokens += cell.Tokens.CacheWriteInputTokens;
        this.ReasoningTokens += cell.Tokens.ReasoningTokens;
        this.Cost += cell.CostUsd;
        this.Unpriced += cell.UnpricedCount;
        for (var i = 0; i < cell.LatencyCounts.Count && i < this.latency.Length; i++)
        {
            this.latency[i] += cell.LatencyCounts[i];
        }

        this.AddErrors(cell.ErrorsByType);
    }

    public void Add(LlmHistoryFiguresBuilder other)
    {
        this.Count += other.Count;
        this.AddSlowest(other.Slowest?.RequestId, other.Slowest?.DurationMs ?? 0);
        this.Errors += other.Errors;
        this.DurationSumMs += other.DurationSumMs;
        this.InputTokens += other.InputTokens;
        this.OutputTokens += other.OutputTokens;
        this.CachedInputTokens += other.CachedInputTokens;
        this.CacheWriteInputTokens += other.CacheWriteInputTokens;
        this.ReasoningTokens += other.ReasoningTokens;
        this.Cost += other.Cost;
        this.Unpriced += other.Unpriced;
        for (var i = 0; i < this.latency.Length; i++)
        {
            this.latency[i] += other.latency[i];
        }

        if (other.errorsByType is not null)
        {
            this.AddErrors(other.errorsByType);
        }
    }

    public LlmHistoryCell ToCell(DateTimeOffset start, string? model) => new()
    {
        Start = start,
        Model = model,
        Count = this.Count,
        ErrorCount = this.Errors,
        DurationSumMs = this.DurationSumMs,
        Tokens = new LlmUsage(this.InputTokens, this.OutputTokens, this.CachedInputTokens, this.ReasoningTokens)
        {
            CacheWriteInputTokens = this.CacheWriteInputTokens,
        },
        CostUsd = this.Cost,
        UnpricedCount = this.Unpriced,
        ErrorsByType = this.errorsByType is null ? new Dictionary<string, long>() : new Dictionary<string, long>(this.errorsByType, StringComparer.Ordinal),
        LatencyCounts = (long[])this.latency.Clone(),
        SlowestRequestId = this.Slowest?.RequestId,
        SlowestDurationMs = this.Slowest?.DurationMs ?? 0,
    };

    public T Fill<T>(T figures)
        where T : LlmHistoryFigures
    {
        figures.Count = this.Count;
        figures.ErrorCount = this.Errors;
        figures.ErrorRate = this.Count == 0 ? 0 : (double)this.Errors / this.Count;
        figures.LatencyMs = this.Count == 0 ? null : new LlmLatencySummary
        {
            Avg = this.DurationSumMs / this.Count,
            P50 = this.Percentile(0.50),
            P95 = this.Percentile(0.95),
            P99 = this.Percentile(0.99),
        };
        figures.Tokens = new LlmTokenTotals
        {
            Input = this.InputTokens,
            Output = this.OutputTokens,
            CachedInput = this.CachedInputTokens,
            CacheWriteInput = this.CacheWriteInputTokens,
            Reasoning = this.ReasoningTokens,
        };
        figures.CostUsd = this.Cost;
        figures.UnpricedCount = this.Unpriced;
        return figures;
    }

    public SortedDictionary<string, long> ErrorsByType()
        => this.errorsByType is null ? new(StringComparer.Ordinal) : new(this.errorsByType, StringComparer.Ordinal);

    /// <summary>A percentile as Prometheus's <c>histogram_quantile</c> reads it: the bucket that holds the rank, and a
    /// straight line within it. The true nearest-rank value is in the same bucket, so the two differ by less than the
    /// bucket's width.</summary>
    internal double Percentile(double q)
    {
        var counted = 0L;
        foreach (var n in this.latency)
        {
            counted += n;
        }

        if (counted == 0)
        {
            return 0;
        }

        var rank = q * counted;
        var cumulative = 0L;
        for (var i = 0; i < this.latency.Length; i++)
        {
            var n = this.latency[i];
            if (n == 0 || cumulative + n < rank)
            {
                cumulative += n;
                continue;
            }

            var lower = i == 0 ? 0 : LlmLatencyBuckets.UpperBound(i - 1);
            var upper = LlmLatencyBuckets.UpperBound(i);
            if (double.IsPositiveInfinity(upper))
            {
                return lower;
            }

            return lower + ((upper - lower) * Math.Clamp((rank - cumulative) / n, 0, 1));
        }

        return LlmLatencyBuckets.UpperBound(LlmLatencyBuckets.Count - 2);
    }

    private void AddSlowest(string? id, double durationMs)
    {
        // A record kept without its id (the rollups' figures read back from a store) names no request.
        if (!string.IsNullOrEmpty(id) && (this.Slowest is null || durationMs > this.Slowest.DurationMs))
        {
            this.Slowest = new LlmSlowestRequest(id, durationMs);
        }
    }

    private void AddErrors(IEnumerable<KeyValuePair<string, long>> errors)
    {
        foreach (var (type, n) in errors)
        {
            this.errorsByType ??= new(StringComparer.Ordinal);
            this.errorsByType[type] = this.errorsByType.GetValueOrDefault(type) + n;
        }
    }
}
