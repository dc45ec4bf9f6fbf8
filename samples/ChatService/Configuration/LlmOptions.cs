namespace ChatService.Configuration;

/// <summary>
/// The service's own LLM configuration, section <c>Llm</c> (environment: <c>Llm__Provider</c>, ...).
/// Clients of the chat API cannot change any of it.
/// </summary>
public sealed class LlmOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Llm";

    /// <summary>Gets or sets the provider. Default: <see cref="LlmProvider.Simulated"/>.</summary>
    public LlmProvider Provider { get; set; } = LlmProvider.Simulated;

    /// <summary>Gets or sets the model name sent to the provider and reported in telemetry. Default: <c>gpt-4o-mini</c>.</summary>
    public string Model { get; set; } = "gpt-4o-mini";

    /// <summary>Gets or sets the Azure OpenAI deployment. Default: <c>null</c>, which uses <see cref="Model"/>.</summary>
    public string? Deployment { get; set; }

    /// <summary>Gets or sets the provider's endpoint. Required for Azure OpenAI; for OpenAI, <c>null</c> means api.openai.com.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Gets or sets the API key. Never logged, never sent anywhere but to the provider.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Gets or sets the maximum number of output tokens of a reply. Default: 512.</summary>
    public int MaxOutputTokens { get; set; } = 512;

    /// <summary>Gets or sets the sampling temperature. Default: 0.7.</summary>
    public float Temperature { get; set; } = 0.7f;

    /// <summary>Gets or sets the system prompt that starts every conversation.</summary>
    public string SystemPrompt { get; set; } = "You are a helpful assistant. Answer briefly and plainly.";

    /// <summary>Gets or sets how long one attempt of a call to the provider may take. Default: 30 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets how many times a call that failed transiently (429, 5xx, a connection error) is retried,
    /// honouring the provider's <c>Retry-After</c>. Each attempt is its own <c>llm_api_call</c> step. Default: 1.</summary>
    public int MaxRetries { get; set; } = 1;

    /// <summary>Gets or sets the longest time all the attempts of one call may take together, waits included: a retry
    /// is made only when its wait ends within it, and an attempt still running when it ends is cut. Default: 60 seconds.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets or sets the first wait before a retry when the provider gives no <c>Retry-After</c>; it doubles
    /// with each retry, with jitter. Default: 500 milliseconds.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Gets or sets the context window the prompt and the reply must fit in, in tokens. The oldest messages
    /// of a conversation are left out of the prompt to fit. Default: 16000.</summary>
    public int ContextWindowTokens { get; set; } = 16_000;

    /// <summary>Gets the settings of the simulated provider.</summary>
    public SimulatedLlmOptions Simulated { get; } = new();

    /// <summary>Gets the deployment the Azure client calls.</summary>
    internal string EffectiveDeployment => string.IsNullOrWhiteSpace(this.Deployment) ? this.Model : this.Deployment;
}
