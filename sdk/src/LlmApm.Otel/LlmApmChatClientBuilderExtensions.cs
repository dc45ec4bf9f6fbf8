using LlmApm.Otel;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.AI;

/// <summary>Adds LLM-APM to a Microsoft.Extensions.AI chat client pipeline.</summary>
public static class LlmApmChatClientBuilderExtensions
{
    /// <summary>Adds <see cref="LlmApmChatClient"/>: every call becomes the <c>llm_api_call</c> step of the current
    /// request, with GenAI span attributes, token usage, cost, errors and time to first token.</summary>
    /// <param name="builder">The chat client builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ChatClientBuilder UseLlmApm(this ChatClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) => new LlmApmChatClient(inner, services.GetService<LlmApmInstrumentation>()));
    }
}
