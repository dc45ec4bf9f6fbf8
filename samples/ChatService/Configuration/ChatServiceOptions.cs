namespace ChatService.Configuration;

/// <summary>Settings of the chat service itself, section <c>ChatService</c>.</summary>
public sealed class ChatServiceOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "ChatService";

    /// <summary>Gets or sets a value indicating whether the demo traffic generator runs (also <c>--demo</c>). Default: <c>false</c>.</summary>
    public bool DemoTraffic { get; set; }

    /// <summary>Gets or sets the demo traffic rate in chats per second (0.1–5). Default: 1.</summary>
    public double DemoRequestsPerSecond { get; set; } = 1;

    /// <summary>Gets or sets the largest accepted request body of the chat endpoints, in bytes. Default: 65536.</summary>
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Gets or sets the longest accepted message, in characters. Default: 32768.</summary>
    public int MaxMessageLength { get; set; } = 32 * 1024;

    /// <summary>Gets or sets how many conversations are kept in memory; the least recently used are evicted beyond it. Default: 1000.</summary>
    public int MaxConversations { get; set; } = 1000;

    /// <summary>Gets the per-client rate limit of the chat endpoints.</summary>
    public ChatRateLimitOptions RateLimit { get; } = new();
}

/// <summary>Per-client (remote IP) fixed-window rate limit of the chat endpoints, section <c>ChatService:RateLimit</c>.</summary>
public sealed class ChatRateLimitOptions
{
    /// <summary>Gets or sets the number of chats a client may send per window. Default: 120.</summary>
    public int PermitLimit { get; set; } = 120;

    /// <summary>Gets or sets the window. Default: 1 minute.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}
