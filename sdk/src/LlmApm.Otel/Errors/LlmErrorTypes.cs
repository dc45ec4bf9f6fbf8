namespace LlmApm.Otel;

/// <summary>The closed set of error types LLM-APM classifies failures into (<c>error.type</c>, <c>error_type</c>).</summary>
public static class LlmErrorTypes
{
    /// <summary>The call took longer than allowed.</summary>
    public const string Timeout = "timeout";

    /// <summary>The provider refused the call for rate or quota reasons (HTTP 429).</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The credentials were missing, wrong or not allowed (HTTP 401, 403).</summary>
    public const string Authentication = "authentication";

    /// <summary>The provider rejected the request as invalid (HTTP 400, 404, 422).</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>The provider's content filter blocked the prompt or the completion.</summary>
    public const string ContentFiltered = "content_filtered";

    /// <summary>The prompt and the requested output do not fit the model's context window.</summary>
    public const string ContextLengthExceeded = "context_length_exceeded";

    /// <summary>The provider failed or is unavailable (HTTP 5xx).</summary>
    public const string ProviderUnavailable = "provider_unavailable";

    /// <summary>The connection to the provider failed.</summary>
    public const string Network = "network";

    /// <summary>The caller cancelled the request.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>A hard budget refused the call before it reached the provider (<see cref="LlmBudgetExceededException"/>).</summary>
    public const string BudgetExceeded = "budget_exceeded";

    /// <summary>Any other failure.</summary>
    public const string Other = "_OTHER";
}
