using LlmApm.Otel;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.AI;

/// <summary>Adds LLM-APM to a Microsoft.Extensions.AI embedding generator pipeline.</summary>
public static class LlmApmEmbeddingGeneratorBuilderExtensions
{
    /// <summary>Adds LLM-APM's embedding middleware: every call becomes the <c>embedding_call</c> step of the current
    /// request, with an <c>embeddings {model}</c> span, input tokens, cost and the GenAI client metrics.</summary>
    /// <param name="builder">The embedding generator builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> UseLlmApm(this EmbeddingGeneratorBuilder<string, Embedding<float>> builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) => new LlmApmEmbeddingGenerator(inner, services.GetService<LlmApmInstrumentation>()));
    }
}
