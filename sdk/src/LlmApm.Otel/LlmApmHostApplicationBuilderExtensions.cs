using LlmApm.Otel;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers LLM-APM on a host application builder.</summary>
public static class LlmApmHostApplicationBuilderExtensions
{
    /// <summary>The configuration section LLM-APM binds: <c>LlmApm</c>.</summary>
    public const string ConfigurationSectionName = LlmApmServices.SectionName;

    /// <summary>
    /// Adds LLM-APM as <c>builder.Services.AddLlmApm(configure)</c> does: options bound from the <c>LlmApm</c>
    /// section of <c>builder.Configuration</c>, then <paramref name="configure"/>.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The host application builder.</param>
    /// <param name="configure">Configures the options after the configuration is bound.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder AddLlmApm<TBuilder>(this TBuilder builder, Action<LlmApmOptions>? configure = null)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddLlmApm(configure);
        return builder;
    }
}
