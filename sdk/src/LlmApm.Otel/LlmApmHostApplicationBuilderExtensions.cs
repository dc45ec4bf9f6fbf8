using LlmApm.Otel;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers LLM-APM on a host application builder.</summary>
public static class LlmApmHostApplicationBuilderExtensions
{
    /// <summary>The configuration section LLM-APM binds: <c>LlmApm</c>.</summary>
    public const string ConfigurationSectionName = "LlmApm";

    /// <summary>
    /// Adds LLM-APM with options bound from the <c>LlmApm</c> configuration section and then
    /// <paramref name="configure"/>. <c>LlmApm:Enabled=false</c> turns everything off; <c>LlmApm:UseOtlpExporter</c>
    /// (default: on when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set) adds the OTLP exporter.
    /// </summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The host application builder.</param>
    /// <param name="configure">Configures the options after the configuration is bound.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder AddLlmApm<TBuilder>(this TBuilder builder, Action<LlmApmOptions>? configure = null)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var section = builder.Configuration.GetSection(ConfigurationSectionName);
        builder.Services.Configure<LlmApmOptions>(section);
        var useOtlp = section.GetValue<bool?>(nameof(LlmApmOptions.UseOtlpExporter))
            ?? !string.IsNullOrWhiteSpace(builder.Configuration[LlmApmServiceCollectionExtensions.OtlpEndpointVariable]);
        var enabled = section.GetValue<bool?>(nameof(LlmApmOptions.Enabled)) ?? true;
        LlmApmServiceCollectionExtensions.AddLlmApmCore(
            builder.Services,
            configure,
            useOtlp && enabled ? builder.Configuration[LlmApmServiceCollectionExtensions.OtlpEndpointVariable] ?? "default" : null);
        return builder;
    }
}
