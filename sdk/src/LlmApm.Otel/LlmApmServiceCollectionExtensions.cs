using LlmApm.Otel;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers LLM-APM in an <see cref="IServiceCollection"/>.</summary>
public static class LlmApmServiceCollectionExtensions
{
    /// <summary>Adds LLM-APM with options from the <c>LlmApm</c> configuration section, if any.</summary>
    /// <param name="services">The services.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApm(this IServiceCollection services) => AddLlmApm(services, configure: null);

    /// <summary>
    /// Adds LLM-APM to the host's OpenTelemetry tracer and meter providers (the ones <c>AddOpenTelemetry()</c> shares
    /// with the host, before or after this call): <c>AddLlmApmInstrumentation()</c> on both, and an OTLP exporter
    /// only when <see cref="LlmApmOptions.UseOtlpExporter"/> asks for one and the host configured no OTLP exporter of
    /// its own, and the trace-based exemplar filter on the meter provider unless the host sets a filter itself
    /// (<c>SetExemplarFilter</c> or <c>OTEL_METRICS_EXEMPLAR_FILTER</c>). Options are bound from the <c>LlmApm</c> section of the registered <c>IConfiguration</c>, if any, then
    /// <paramref name="configure"/> runs; they are validated at start-up. Calling it again only applies
    /// <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the options after the configuration is bound.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApm(this IServiceCollection services, Action<LlmApmOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        LlmApmServices.AddCore(services);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        if (!LlmApmServices.TryMark<LlmApmRegistration>(services))
        {
            return services;
        }

        // Exemplars link a metric sample to its request's trace; set for the provider unless the host chose a filter.
        LlmApmExemplarFilter.AddFirst(services);
        services.AddOpenTelemetry()
            .WithTracing(tracing => ((IDeferredTracerProviderBuilder)tracing.AddLlmApmInstrumentation()).Configure((sp, builder) =>
            {
                if (LlmApmOtlp.ShouldAdd(sp))
                {
                    builder.AddProcessor(new BatchActivityExportProcessor(new OtlpTraceExporter(LlmApmOtlp.CreateOptions(sp, "v1/traces"))));
                }
            }))
            .WithMetrics(metrics => ((IDeferredMeterProviderBuilder)metrics.AddLlmApmInstrumentation()).Configure((sp, builder) =>
            {
                if (LlmApmOtlp.ShouldAdd(sp))
                {
                    builder.AddReader(new PeriodicExportingMetricReader(new OtlpMetricExporter(LlmApmOtlp.CreateOptions(sp, "v1/metrics"))));
                }
            }));
        return services;
    }

    /// <summary>Marks that LLM-APM is registered, so that a second call registers nothing twice.</summary>
    internal sealed class LlmApmRegistration;
}
