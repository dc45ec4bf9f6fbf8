using LlmApm.Otel;
using Microsoft.Extensions.DependencyInjection;

namespace OpenTelemetry.Metrics;

/// <summary>Adds LLM-APM's instrumentation to a meter provider.</summary>
public static class LlmApmMeterProviderBuilderExtensions
{
    /// <summary>
    /// Adds the <c>LlmApm</c> meter (its histograms carry their bucket boundaries as advice) and registers the services
    /// LLM-APM needs. Adds no exporter or reader: the <c>llm.*</c> metrics go to the readers of this provider. Calling it
    /// again adds nothing.
    /// </summary>
    /// <param name="builder">The meter provider builder, for example from
    /// <c>services.AddOpenTelemetry().WithMetrics(...)</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="NotSupportedException">The builder cannot take services (it is already built).</exception>
    public static MeterProviderBuilder AddLlmApmInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var first = false;
        builder.ConfigureServices(services =>
        {
            LlmApmServices.AddCore(services);
            first = LlmApmServices.TryMark<MetricsRegistration>(services);
        });

        if (first)
        {
            if (builder is not IDeferredMeterProviderBuilder deferred)
            {
                throw new NotSupportedException("AddLlmApmInstrumentation() needs a meter provider builder that resolves services (Sdk.CreateMeterProviderBuilder() or AddOpenTelemetry().WithMetrics()).");
            }

            deferred.Configure((sp, metrics) =>
            {
                if (sp.GetRequiredService<LlmApmInstrumentation>().Enabled)
                {
                    metrics.AddMeter(LlmApmTelemetry.MeterName);
                }
            });
        }

        return builder;
    }

    /// <summary>Marks that a meter provider of this service collection has LLM-APM's meter.</summary>
    internal sealed class MetricsRegistration;
}
