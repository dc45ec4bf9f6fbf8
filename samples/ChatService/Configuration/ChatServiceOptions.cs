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

    /// <summary>Gets or sets a value indicating whether the request history is kept in a SQLite database (it survives
    /// restarts) rather than in memory only. Default: <c>true</c>.</summary>
    public bool DurableHistory { get; set; } = true;

    /// <summary>Gets or sets where a durable history lives: <c>sqlite</c> (a file in <see cref="DataPath"/>, one
    /// replica) or <c>postgresql</c> (one database shared by every replica, <c>ConnectionStrings:LlmApmHistory</c>).
    /// Default: <c>sqlite</c>.</summary>
    public string HistoryStore { get; set; } = "sqlite";

    /// <summary>Gets or sets a value indicating whether LLM-APM's judge-free refusal evaluator scores the sampled
    /// answers (<c>LlmApm:Evaluation:SampleRate</c>, default 0.1) as <c>refusal</c>. Default: <c>false</c>.</summary>
    public bool Evaluation { get; set; }

    /// <summary>Gets or sets the service's data folder, relative to the content root; the history database is
    /// <c>llm-apm-history.db</c> in it unless <c>LlmApm:Sqlite:Path</c> names another file. Default: <c>data</c>.</summary>
    public string DataPath { get; set; } = "data";

    /// <summary>Gets or sets a value indicating whether <c>/metrics</c> also exposes .NET's <c>System.Runtime</c> meter
    /// (<c>dotnet_gc_*</c>, <c>dotnet_thread_pool_*</c>, <c>dotnet_process_memory_*</c> ...). Default: <c>false</c>.</summary>
    public bool RuntimeMetrics { get; set; }

    /// <summary>Gets or sets a value indicating whether OpenTelemetry's ASP.NET Core instrumentation (server spans and
    /// <c>http.server.*</c> metrics) is on. Default: <c>true</c>. The load script turns it off to compare LLM-APM
    /// alone with that instrumentation alone.</summary>
    public bool AspNetCoreInstrumentation { get; set; } = true;

    /// <summary>Gets the per-client rate limit of the chat endpoints.</summary>
    public ChatRateLimitOptions RateLimit { get; } = new();

    /// <summary>Gets the retrieval step before the model call.</summary>
    public RetrievalOptions Retrieval { get; } = new();
}

/// <summary>Per-client (remote IP) fixed-window rate limit of the chat endpoints, section <c>ChatService:RateLimit</c>.</summary>
public sealed class ChatRateLimitOptions
{
    /// <summary>Gets or sets the number of chats a client may send per window. Default: 120.</summary>
    public int PermitLimit { get; set; } = 120;

    /// <summary>Gets or sets the window. Default: 1 minute.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}
