namespace ChatService.Configuration;

/// <summary>Settings of the simulated provider, section <c>Llm:Simulated</c>.</summary>
public sealed class SimulatedLlmOptions
{
    /// <summary>The fault types the simulator can inject.</summary>
    public static readonly IReadOnlyList<string> FaultTypes =
    [
        "rate_limited", "timeout", "provider_unavailable", "content_filtered",
        "context_length_exceeded", "authentication", "invalid_request", "network",
    ];

    /// <summary>Gets or sets the time before the first token, in milliseconds. Default: 150.</summary>
    public int TimeToFirstTokenMs { get; set; } = 150;

    /// <summary>Gets or sets the time per output token, in milliseconds. Default: 15.</summary>
    public int PerTokenMs { get; set; } = 15;

    /// <summary>Gets the injected fault rates by type (0–1, e.g. <c>Llm:Simulated:Faults:rate_limited=0.02</c>).
    /// Types: see <see cref="FaultTypes"/>. Default: none.</summary>
    public Dictionary<string, double> Faults { get; } = new(StringComparer.OrdinalIgnoreCase);
}
