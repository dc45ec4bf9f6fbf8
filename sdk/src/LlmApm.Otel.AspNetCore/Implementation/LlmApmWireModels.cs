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
    LlmApmHistoryStatus? History = null);

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
internal sealed record LlmApmRequestPage(IReadOnlyList<LlmRequestRecord> Items, string? NextCursor);

/// <summary>The body of <c>api/summary</c>: the window's name, then the figures of the SDK's summary.</summary>
internal sealed record LlmApmSummary(
    string Window,
    DateTimeOffset From,
    DateTimeOffset To,
    long Count,
    long ErrorCount,
    double ErrorRate,
    LlmLatencySummary? LatencyMs,
    LlmTokenTotals Tokens,
    decimal CostUsd,
    long UnpricedCount,
    IDictionary<string, long> ErrorsByType,
    IReadOnlyList<LlmModelSummary> ByModel)
{
    public static LlmApmSummary Create(string window, LlmHistorySummary s)
        => new(window, s.From, s.To, s.Count, s.ErrorCount, s.ErrorRate, s.LatencyMs, s.Tokens, s.CostUsd, s.UnpricedCount, s.ErrorsByType, s.ByModel);
}

/// <summary>The body of <c>api/timeseries</c>.</summary>
internal sealed record LlmApmTimeSeries(string Window, int BucketSeconds, IReadOnlyList<LlmTimeBucket> Buckets);
