namespace LlmApm.Otel.History;

/// <summary>Whether a history store keeps what it is given. A store reports it through
/// <see cref="ILlmHistoryStore.Health"/>; the health check, the history API's <c>api/info</c> and the dashboard's
/// banner read it.</summary>
public sealed class LlmHistoryHealth
{
    private LlmHistoryHealth(string? reason) => this.Reason = reason;

    /// <summary>Gets the health of a store that keeps every record it is given.</summary>
    public static LlmHistoryHealth Healthy { get; } = new(null);

    /// <summary>Gets a value indicating whether the store keeps every record it is given.</summary>
    public bool IsHealthy => this.Reason is null;

    /// <summary>Gets what is wrong and what to do, for an operator, or <c>null</c> when healthy. Never holds request
    /// content.</summary>
    public string? Reason { get; }

    /// <summary>The health of a store that loses or cannot read records.</summary>
    /// <param name="reason">What is wrong and what to do, for an operator: the file or server, the cause, the fix.</param>
    /// <returns>The health.</returns>
    public static LlmHistoryHealth Degraded(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new LlmHistoryHealth(reason);
    }
}
