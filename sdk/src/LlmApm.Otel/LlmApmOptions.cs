namespace LlmApm.Otel;

/// <summary>Options of LLM-APM. Bound from the <c>LlmApm</c> configuration section by <c>builder.AddLlmApm()</c> and
/// <c>services.AddLlmApm()</c> (when an <c>IConfiguration</c> is registered), then set by their delegate.</summary>
public sealed class LlmApmOptions
{
    /// <summary>The environment variable of the OpenTelemetry GenAI conventions that turns content capture on.</summary>
    internal const string CaptureMessageContentEnvironmentVariable = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

    /// <summary>Gets or sets a value indicating whether LLM-APM records anything. Default: <c>true</c>.
    /// When <c>false</c>, no source, meter or processor is registered and requests and steps do nothing.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Gets or sets the number of finished requests the in-memory history keeps. Default: <c>10000</c>.</summary>
    public int HistoryCapacity { get; set; } = 10_000;

    /// <summary>Gets or sets a value indicating whether prompts and completions are captured on spans and in the
    /// history. Default: <c>false</c>, or <c>true</c> when the environment variable
    /// <c>OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT</c> is <c>true</c>. Captured text passes through
    /// <see cref="Redactor"/> first.</summary>
    public bool CaptureMessageContent { get; set; } = IsCaptureEnvironmentOn();

    /// <summary>Gets or sets the redaction applied to every captured text before it is kept. Default: <c>null</c>, which
    /// applies <see cref="LlmContentRedactor.Default"/> (e-mail addresses and API-key-like strings masked).</summary>
    public Func<string, string>? Redactor { get; set; }

    /// <summary>Gets the model prices in US dollars per million tokens that replace or extend the shipped table.
    /// Configuration: <c>LlmApm:Prices:{model}:InputPerMillion</c>, <c>CachedInputPerMillion</c>, <c>OutputPerMillion</c>.</summary>
    public IDictionary<string, LlmModelPrice> Prices { get; } = new Dictionary<string, LlmModelPrice>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Gets or sets the path of a price file (JSON in the shipped catalogue's format) whose entries replace or
    /// extend the shipped catalogue; <see cref="Prices"/> still win over it. The file is read at start and again when it
    /// changes, without a restart; a file that cannot be read keeps the last good prices and is reported in the log and
    /// in <c>api/prices</c>. Configuration: <c>LlmApm:PriceFile</c>. Default: <c>null</c>.</summary>
    public string? PriceFile { get; set; }

    /// <summary>Gets model names, besides the priced ones, that metric tags may carry verbatim. Any other model is
    /// tagged <c>other</c> (spans and history keep the real name). Default: empty.</summary>
    public IList<string> Models { get; } = [];

    /// <summary>Gets tenant ids that the <c>tenant</c> metric tag always carries verbatim; the first 32 other tenants
    /// seen are kept too, any further one is tagged <c>other</c>, and a request without a tenant is tagged <c>none</c>.
    /// Spans and the history keep the real id. Default: empty.</summary>
    public IList<string> Tenants { get; } = [];

    /// <summary>Gets the budgets by name: limits in US dollars on what LLM calls spend per UTC hour, day or month, globally
    /// or by tenant, user, route or model. A soft budget raises <c>llm.budget.spent_ratio</c>; a hard one also refuses calls
    /// at its limit (<see cref="LlmBudgetExceededException"/>). Configuration: <c>LlmApm:Budgets:{name}</c>. A name is 1 to
    /// 64 letters, digits, <c>_</c>, <c>-</c> or <c>.</c> (it is the <c>budget</c> metric tag). Default: none.</summary>
    public IDictionary<string, LlmBudgetOptions> Budgets { get; } = new Dictionary<string, LlmBudgetOptions>(StringComparer.Ordinal);

    /// <summary>Gets the host's own error classifiers, asked before the built-in rules. Each returns an error type
    /// or <c>null</c>. A type must be at most 64 characters of letters, digits, <c>_</c>, <c>-</c> or <c>.</c>; at most
    /// 32 distinct custom types are kept, any further one is counted as <c>_OTHER</c>.</summary>
    public IList<Func<Exception, string?>> ErrorClassifiers { get; } = [];

    /// <summary>Gets score names, besides <c>user_feedback</c>, that the <c>name</c> tag of <c>llm.scores</c> always
    /// carries verbatim; the first 32 other names seen are kept too, any further one is tagged <c>other</c>.</summary>
    public IList<string> ScoreNames { get; } = [];

    /// <summary>Gets the options of online evaluation (evaluators added with <c>AddLlmApmEvaluator()</c>).</summary>
    public LlmEvaluationOptions Evaluation { get; } = new();

    /// <summary>Gets or sets how long the history waits for a request span to end before it drops the steps it
    /// buffered for it. Default: 10 minutes.</summary>
    public TimeSpan OrphanTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Gets the other activity sources whose spans inside a request are kept in its history record as steps, each with
    /// its step kind (<c>http</c>, <c>db</c>, <c>agent</c>, <c>other</c>, ...). A name ending in <c>*</c> matches every
    /// source that starts with the rest; an empty kind leaves the source out. A span with a GenAI operation
    /// (<c>gen_ai.operation.name</c>) takes that operation's kind (<c>agent</c>, <c>tool</c>, <c>llm_call</c>,
    /// <c>embedding</c>). LLM-APM adds none of these sources to the tracer provider: the host's own tracing decides
    /// which spans exist (for example <c>AddHttpClientInstrumentation()</c> or <c>AddSource("Npgsql")</c>). Default:
    /// HttpClient (<c>http</c>); Npgsql, MySqlConnector and the SqlClient, Entity Framework Core and Redis
    /// instrumentations (<c>db</c>); Microsoft.Extensions.AI's and Microsoft Agent Framework's sources.
    /// </summary>
    public IDictionary<string, string> StepSources { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["System.Net.Http"] = "http",
        ["Npgsql"] = "db",
        ["MySqlConnector"] = "db",
        ["OpenTelemetry.Instrumentation.SqlClient"] = "db",
        ["OpenTelemetry.Instrumentation.EntityFrameworkCore"] = "db",
        ["OpenTelemetry.Instrumentation.StackExchangeRedis"] = "db",
        ["Experimental.Microsoft.Extensions.AI"] = "other",
        ["Experimental.Microsoft.Agents.AI"] = "agent",
    };

    /// <summary>Gets or sets how many spans of <see cref="StepSources"/> one request keeps as steps; past it, further
    /// spans are only counted in the record's <c>DroppedSteps</c>. 0 keeps none. Default: 64.</summary>
    public int MaxSourceStepsPerRequest { get; set; } = 64;

    /// <summary>Gets or sets a value indicating whether <c>AddLlmApm()</c> adds an OTLP exporter for traces and metrics.
    /// Default: <c>null</c>, which adds it when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is configured. Never added when the
    /// host configured OTLP itself (<c>UseOtlpExporter()</c> or any <c>AddOtlpExporter()</c>).</summary>
    public bool? UseOtlpExporter { get; set; }

    /// <summary>Gets or sets a value indicating whether <c>gen_ai.client.token.usage</c> also records token counts that
    /// LLM-APM estimated because the provider reported none. Default: <c>false</c>, as the GenAI conventions ask (only
    /// the provider's counts); the <c>llm.tokens</c> series keep estimates either way, flagged on the span and in the history.</summary>
    public bool EstimateGenAiTokenUsage { get; set; }

    internal static bool IsCaptureEnvironmentOn()
        => bool.TryParse(Environment.GetEnvironmentVariable(CaptureMessageContentEnvironmentVariable), out var on) && on;
}
