namespace ChatService.Configuration;

/// <summary>The LLM behind the chat endpoints.</summary>
public enum LlmProvider
{
    /// <summary>The built-in simulator: no network, no key.</summary>
    Simulated,

    /// <summary>Azure OpenAI (Azure.AI.OpenAI): <c>Endpoint</c>, <c>Deployment</c> and <c>ApiKey</c>.</summary>
    AzureOpenAI,

    /// <summary>Any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM): <c>Model</c>, optional <c>Endpoint</c>, <c>ApiKey</c>.</summary>
    OpenAI,
}
