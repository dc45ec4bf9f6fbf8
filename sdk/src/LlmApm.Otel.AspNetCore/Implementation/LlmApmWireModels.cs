using LlmApm.Otel.History;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>The body of <c>api/info</c>.</summary>
internal sealed record LlmApmInfo(
    string ServiceName,
    string? ServiceVersion,
    string? SdkVersion,
    bool ContentCapture,
    int HistoryCapacity,
    LlmApmChatInfo? Chat,
    LlmApmHistoryStatus? History = null,
    LlmApmWirePriceFile? PriceFile = null);

/// <summary>Whether the history keeps what it is given, announced by <c>api/info</c> for the dashboard's banner.</summary>
/// <param name="Status"><c>healthy</c> or <c>degraded</c>.</param>
/// <param name="Reason">What is wrong and what to do, or <c>null</c> when healthy.</param>
internal sealed record LlmApmHistoryStatus(string Status, string? Reason)
{
    public static LlmApmHistoryStatus From(LlmHistoryHealth health)
        => health.IsHealthy ? new("healthy", null) : new("degraded", health.Reason);
}

/// <summary>The host's chat endpoints, announced by <c>api/info</c>.</summary>
internal sealed record LlmApmChatInfo(string? Endpoint, string? StreamEndpoint);

/// <summary>The body of <c>api/requests</c>.</summary>
internal sealed record LlmApmRequestPage(IReadOnlyList<LlmApmWireRequest> Items, string? NextCursor);

/// <summary>The request record of docs/api.md: the body of <c>api/requests/{id}</c>, an item of <c>api/requests</c> and
/// the data of a live-stream event. Its own type, mapped from <see cref="LlmRequestRecord"/> in <see cref="From"/> and
/// nowhere else, so that the public record and the wire format change apart (the OpenAPI document and the dashboard's
/// types follow this one).</summary>
internal sealed record LlmApmWireRequest(
    string Id,
    long Seq,
    string TraceId,
    string? SpanId,
    DateTimeOffset StartTime,
    double DurationMs,
    string Route,
    string? Model,
    string? Provider,
    string? ConversationId,
    string? Replica,
    string Status,
    string? ErrorType,
    string? ErrorMessage,
    LlmApmWireTokens Tokens,
    decimal? CostUsd,
    bool Unpriced,
    IReadOnlyList<LlmApmWireStep> Steps,
    int DroppedSteps,
    LlmApmWireContent? Content,
    IReadOnlyList<LlmApmWireScore> Scores,
    string? UserId,
    string? TenantId,
    IReadOnlyDictionary<string, string> Properties)
{
    public static LlmApmWireRequest From(LlmRequestRecord record)
    {
        var steps = record.Steps.Count == 0 ? [] : new LlmApmWireStep[record.Steps.Count];
        for (var i = 0; i < steps.Length; i++)
        {
            var step = record.Steps[i];
            steps[i] = new(step.Name, step.OffsetMs, step.DurationMs, step.Status, step.ErrorType, step.Depth, step.Kind ?? LlmStepKinds.Step, step.Price);
        }

        var usage = record.Usage;
        return new(
            record.Id,
            record.Seq,
            record.TraceId,
            record.SpanId,
            record.StartTime,
            record.DurationMs,
            record.Route,
            record.Model,
            record.Provider,
            record.ConversationId,
            record.Replica,
            record.Status,
            record.ErrorType,
            record.ErrorMessage,
            new(usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens, usage.CacheWriteInputTokens, usage.ReasoningTokens, usage.TotalTokens, usage.Estimated),
            record.CostUsd,
            record.Unpriced,
            steps,
            record.DroppedSteps,
            record.Content is { } content ? new(content.Prompt, content.Completion) : null,
            record.Scores.Count == 0 ? [] : [.. record.Scores.Select(LlmApmWireScore.From)],
            record.UserId,
            record.TenantId,
            record.Properties);
    }
}

/// <summary>The <c>tokens</c> of a request record.</summary>
internal readonly record struct LlmApmWireTokens(long Input, long Output, long CachedInput, long CacheWriteInput, long Reasoning, long Total, bool Estimated);

/// <summary>One of the <c>steps</c> of a request record; <c>price</c> is the price entry an LLM call's cost used.</summary>
internal readonly record struct LlmApmWireStep(string Name, double OffsetMs, double DurationMs, string Status, string? ErrorType, int Depth, string Kind, string? Price);

/// <summary>The <c>content</c> of a request record, present only while content capture is on.</summary>
internal sealed record LlmApmWireContent(string? Prompt, string? Completion);

/// <summary>The body of <c>api/summary</c>: the window's name, then the figures of the SDK's summary.</summary>
internal sealed record LlmApmSummary(
    string Window,
    DateTimeOffset From,
    DateTimeOffset To,
    long Count,
    long ErrorCount,
    double ErrorRate,
    LlmApmWireLatency? LatencyMs,
    LlmApmWireTokenTotals Tokens,
    decimal CostUsd,
    long UnpricedCount,
    IDictionary<string, long> ErrorsByType,
    IReadOnlyList<LlmApmWireModelSummary> ByModel)
{
    public static LlmApmSummary Create(string window, LlmHistorySummary s)
        => new(
            window,
            s.From,
            s.To,
            s.Count,
            s.ErrorCount,
            s.ErrorRate,
            LlmApmWireLatency.From(s.LatencyMs),
            LlmApmWireTokenTotals.From(s.Tokens),
            s.CostUsd,
            s.UnpricedCount,
            s.ErrorsByType,
            [.. s.ByModel.Select(LlmApmWireModelSummary.From)]);
}

/// <summary>A <c>byModel</c> row of <c>api/summary</c>.</summary>
internal sealed record LlmApmWireModelSummary(
    string Model,
    long Count,
    long ErrorCount,
    double ErrorRate,
    LlmApmWireLatency? LatencyMs,
    LlmApmWireTokenTotals Tokens,
    decimal CostUsd,
    long UnpricedCount)
{
    public static LlmApmWireModelSummary From(LlmModelSummary m)
        => new(m.Model, m.Count, m.ErrorCount, m.ErrorRate, LlmApmWireLatency.From(m.LatencyMs), LlmApmWireTokenTotals.From(m.Tokens), m.CostUsd, m.UnpricedCount);
}

/// <summary>A bucket of <c>api/timeseries</c>.</summary>
internal sealed record LlmApmWireBucket(
    DateTimeOffset Start,
    IDictionary<string, long> ErrorsByType,
    long Count,
    long ErrorCount,
    double ErrorRate,
    LlmApmWireLatency? LatencyMs,
    LlmApmWireTokenTotals Tokens,
    decimal CostUsd,
    long UnpricedCount,
    LlmApmWireSlowest? Slowest)
{
    public static LlmApmWireBucket From(LlmTimeBucket b)
        => new(
            b.Start, b.ErrorsByType, b.Count, b.ErrorCount, b.ErrorRate, LlmApmWireLatency.From(b.LatencyMs), LlmApmWireTokenTotals.From(b.Tokens), b.CostUsd, b.UnpricedCount,
            b.Slowest is { } s ? new LlmApmWireSlowest(s.RequestId, s.DurationMs) : null);
}

/// <summary>The <c>slowest</c> request of a bucket, which the latency chart links to; <c>null</c> without requests.</summary>
internal sealed record LlmApmWireSlowest(string RequestId, double DurationMs);

/// <summary>The <c>latencyMs</c> of a summary, a model row or a bucket; <c>null</c> without requests.</summary>
internal sealed record LlmApmWireLatency(double Avg, double P50, double P95, double P99)
{
    public static LlmApmWireLatency? From(LlmLatencySummary? l) => l is null ? null : new(l.Avg, l.P50, l.P95, l.P99);
}

/// <summary>The <c>tokens</c> of a summary, a model row or a bucket.</summary>
internal sealed record LlmApmWireTokenTotals(long Input, long Output, long CachedInput, long CacheWriteInput, long Reasoning, long Total)
{
    public static LlmApmWireTokenTotals From(LlmTokenTotals t) => new(t.Input, t.Output, t.CachedInput, t.CacheWriteInput, t.Reasoning, t.Total);
}

/// <summary>The body of <c>api/timeseries</c>.</summary>
internal sealed record LlmApmTimeSeries(string Window, int BucketSeconds, IReadOnlyList<LlmApmWireBucket> Buckets);

/// <summary>The body of <c>POST api/requests/{id}/scores</c>: <c>name</c> and one of <c>boolean</c>, <c>value</c> (with
/// an optional <c>label</c>) or <c>label</c>.</summary>
internal sealed class LlmApmScoreInput
{
    public string? Name { get; init; }

    public bool? Boolean { get; init; }

    public double? Value { get; init; }

    public string? Label { get; init; }

    public string? Comment { get; init; }

    public string? Source { get; init; }

    /// <summary>Gets <c>positive</c>, <c>negative</c> or <c>neutral</c>; by default from the value.</summary>
    public string? Polarity { get; init; }
}

/// <summary>One of the <c>scores</c> of a request record, and the answer of <c>POST api/requests/{id}/scores</c>.</summary>
/// <remarks><c>kind</c> is <c>numeric</c>, <c>boolean</c> or <c>label</c>; <c>polarity</c> is <c>positive</c>,
/// <c>negative</c> or <c>neutral</c>.</remarks>
internal sealed record LlmApmWireScore(
    string Name,
    string Kind,
    double? Value,
    string? Label,
    string Polarity,
    string? Comment,
    string? Source,
    DateTimeOffset Timestamp)
{
    public static LlmApmWireScore From(LlmScore s)
        => new(s.Name, LlmScore.KindName(s.Kind), s.Value, s.Label, LlmScore.PolarityName(s.Polarity), s.Comment, s.Source, s.Timestamp);
}

/// <summary>The body of <c>api/feedback</c>: the <c>user_feedback</c> scores of a window's requests.</summary>
internal sealed record LlmApmFeedback(
    string Window,
    DateTimeOffset From,
    DateTimeOffset To,
    long Positive,
    long Negative,
    double? Ratio,
    IReadOnlyList<LlmApmFeedbackRow> Rows)
{
    public static LlmApmFeedback Create(string window, DateTimeOffset from, DateTimeOffset to, IReadOnlyList<LlmRequestRecord> records)
    {
        var rows = new Dictionary<(string Route, string Model), (long Positive, long Negative)>();
        foreach (var record in records)
        {
            foreach (var score in record.Scores)
            {
                if (!string.Equals(score.Name, LlmScore.UserFeedback, StringComparison.Ordinal) || score.Polarity == LlmScorePolarity.Neutral)
                {
                    continue;
                }

                var key = (record.Route, record.Model ?? "unknown");
                rows.TryGetValue(key, out var counts);
                rows[key] = score.Polarity == LlmScorePolarity.Positive ? (counts.Positive + 1, counts.Negative) : (counts.Positive, counts.Negative + 1);
            }
        }

        var list = rows.Select(r => new LlmApmFeedbackRow(r.Key.Route, r.Key.Model, r.Value.Positive, r.Value.Negative, RatioOf(r.Value.Positive, r.Value.Negative)))
            .OrderBy(r => r.Ratio).ThenBy(r => r.Route, StringComparer.Ordinal).ThenBy(r => r.Model, StringComparer.Ordinal).ToList();
        var positive = list.Sum(r => r.Positive);
        var negative = list.Sum(r => r.Negative);
        return new(window, from, to, positive, negative, RatioOf(positive, negative), list);
    }

    private static double? RatioOf(long positive, long negative) => positive + negative == 0 ? null : (double)positive / (positive + negative);
}

/// <summary>A row of <c>api/feedback</c>: one route and model; <c>ratio</c> is positive over all (positive and negative)
/// feedback, or <c>null</c> without any.</summary>
internal sealed record LlmApmFeedbackRow(string Route, string Model, long Positive, long Negative, double? Ratio);

/// <summary>The body of <c>api/spend</c>: the window, what the rows are by, the total cost of every key and the rows,
/// highest cost first.</summary>
internal sealed record LlmApmSpend(
    string By,
    string Window,
    DateTimeOffset From,
    DateTimeOffset To,
    decimal TotalCostUsd,
    IReadOnlyList<LlmApmWireSpendRow> Rows);

/// <summary>A row of <c>api/spend</c>; <c>key</c> is <c>null</c> for the requests without a tenant, user or model.</summary>
internal sealed record LlmApmWireSpendRow(string? Key, long Requests, decimal CostUsd, long InputTokens, long OutputTokens, long UnpricedRequests)
{
    public static LlmApmWireSpendRow From(LlmSpendRow r) => new(r.Key, r.Requests, r.CostUsd, r.InputTokens, r.OutputTokens, r.UnpricedRequests);
}

/// <summary>The body of <c>api/replicas</c>: the window and the replicas that served requests in it, the most recently
/// seen first.</summary>
internal sealed record LlmApmReplicas(string Window, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<LlmApmWireReplica> Replicas);

/// <summary>A row of <c>api/replicas</c>: a replica (<c>service.instance.id</c>), its requests in the window and the start
/// of its last one.</summary>
internal sealed record LlmApmWireReplica(string Replica, long Requests, DateTimeOffset LastRequestAt)
{
    public static LlmApmWireReplica From(LlmReplicaRow r) => new(r.Replica, r.Requests, r.LastRequestAt);
}
