namespace LlmApm.Otel.History;

/// <summary>One finished request as the history keeps it. Serialised as the request record of the history API.</summary>
public sealed class LlmRequestRecord
{
    /// <summary>Gets or sets the request id.</summary>
    public required string Id { get; set; }

    /// <summary>Gets or sets the store's sequence number: higher is newer. Assigned by the store.</summary>
    public long Seq { get; set; }

    /// <summary>Gets or sets the trace id of the request span.</summary>
    public required string TraceId { get; set; }

    /// <summary>Gets or sets the span id of the request span.</summary>
    public string? SpanId { get; set; }

    /// <summary>Gets or sets the start time.</summary>
    public DateTimeOffset StartTime { get; set; }

    /// <summary>Gets or sets the duration in milliseconds.</summary>
    public double DurationMs { get; set; }

    /// <summary>Gets or sets the route template.</summary>
    public required string Route { get; set; }

    /// <summary>Gets or sets the model, as reported.</summary>
    public string? Model { get; set; }

    /// <summary>Gets or sets the provider.</summary>
    public string? Provider { get; set; }

    /// <summary>Gets or sets the conversation id.</summary>
    public string? ConversationId { get; set; }

    /// <summary>Gets or sets the status: <c>ok</c> or <c>error</c>.</summary>
    public required string Status { get; set; }

    /// <summary>Gets or sets the error type, or <c>null</c>.</summary>
    public string? ErrorType { get; set; }

    /// <summary>Gets or sets the error message, or <c>null</c>.</summary>
    public string? ErrorMessage { get; set; }

    /// <summary>Gets or sets the token counts.</summary>
    public LlmTokenCounts Tokens { get; set; } = new();

    /// <summary>Gets or sets the cost in US dollars, or <c>null</c> when <see cref="Unpriced"/>.</summary>
    public decimal? CostUsd { get; set; }

    /// <summary>Gets or sets a value indicating whether a model used has no price.</summary>
    public bool Unpriced { get; set; }

    /// <summary>Gets or sets the steps, in start order.</summary>
    public IReadOnlyList<LlmStepRecord> Steps { get; set; } = [];

    /// <summary>Gets or sets the captured content, or <c>null</c> unless content capture is on.</summary>
    public LlmContentRecord? Content { get; set; }
}

/// <summary>Token counts of a request record.</summary>
public sealed class LlmTokenCounts
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

    /// <summary>Gets or sets a value indicating whether some counts were estimated.</summary>
    public bool Estimated { get; set; }
}

/// <summary>One step of a request record.</summary>
/// <param name="Name">The step name.</param>
/// <param name="OffsetMs">Milliseconds from the request's start to the step's start.</param>
/// <param name="DurationMs">The step's duration in milliseconds.</param>
/// <param name="Status"><c>ok</c> or <c>error</c>.</param>
/// <param name="ErrorType">The error type, or <c>null</c>.</param>
/// <param name="Depth">0 for a step directly under the request, 1 for a step inside a step, and so on.</param>
public sealed record LlmStepRecord(string Name, double OffsetMs, double DurationMs, string Status, string? ErrorType, int Depth);

/// <summary>Captured prompt and completion, after redaction.</summary>
/// <param name="Prompt">The prompt.</param>
/// <param name="Completion">The completion.</param>
public sealed record LlmContentRecord(string? Prompt, string? Completion);
