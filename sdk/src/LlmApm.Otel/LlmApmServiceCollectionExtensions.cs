using LlmApm.Otel;
using LlmApm.Otel.History;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers LLM-APM in an <see cref="IServiceCollection"/>.</summary>
public static class LlmApmServiceCollectionExtensions
{
    /// <summary>The environment variable (and configuration key) of the standard OTLP endpoint.</summary>
    internal const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Adds LLM-APM with its default options.</summary>
    /// <param name="services">The services.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApm(this IServiceCollection services) => AddLlmApm(services, configure: null);

    /// <summary>
    /// Adds LLM-APM: the <c>LlmApm</c> activity source and meter on the host's OpenTelemetry tracer and meter providers
    /// (one of each, shared with the host's own <c>AddOpenTelemetry()</c> calls), the history processor and store, and
    /// the OTLP exporter when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Calling it again only applies
    /// <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApm(this IServiceCollection services, Action<LlmApmOptions>? configure)
        => AddLlmApmCore(services, configure, Environment.GetEnvironmentVariable(OtlpEndpointVariable));

    internal static IServiceCollection AddLlmApmCore(IServiceCollection services, Action<LlmApmOptions>? configure, string? otlpEndpoint)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<LlmApmOptions>().Validate(
            o => o.HistoryCapacity > 0 && o.OrphanTimeout > TimeSpan.Zero,
            "LlmApm:HistoryCapacity and LlmApm:OrphanTimeout must be positive.").ValidateOnStart();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(LlmApmRegistration)))
        {
            return services;
        }

        services.AddSingleton<LlmApmRegistration>();
        services.TryAddSingleton<ILlmHistoryStore, InMemoryLlmHistoryStore>();
        services.TryAddSingleton<LlmHistoryFeed>();
        services.TryAddSingleton<LlmApmInstrumentation>();

        var otel = services.AddOpenTelemetry();
        otel.WithTracing(tracing => ((IDeferredTracerProviderBuilder)tracing).Configure((sp, builder) =>
        {
            var instrumentation = sp.GetRequiredService<LlmApmInstrumentation>();
            if (instrumentation.Enabled)
            {
                builder.AddSource(LlmApmTelemetry.SourceName);
                builder.AddProcessor(new LlmHistoryProcessor(instrumentation));
            }
        }));
        otel.WithMetrics(metrics => ((IDeferredMeterProviderBuilder)metrics).Configure((sp, builder) =>
        {
            if (sp.GetRequiredService<IOptions<LlmApmOptions>>().Value.Enabled)
            {
                builder.AddMeter(LlmApmTelemetry.MeterName);
            }
        }));

        if (!string.IsNullOrWhiteSpace(otlpEndpoint))
        {
            // The exporters read the standard OTEL_EXPORTER_OTLP_* settings themselves.
            otel.WithTracing(tracing => tracing.AddOtlpExporter());
            otel.WithMetrics(metrics => metrics.AddOtlpExporter());
        }

        return services;
    }

    /// <summary>Marks that LLM-APM is registered, so that a second call registers nothing twice.</summary>
    internal sealed class LlmApmRegistration;
}
