using LlmApm.Otel;
using LlmApm.Otel.History;
using Microsoft.Extensions.DependencyInjection;

namespace OpenTelemetry.Trace;

/// <summary>Adds LLM-APM's instrumentation to a tracer provider.</summary>
public static class LlmApmTracerProviderBuilderExtensions
{
    /// <summary>
    /// Adds the <c>LlmApm</c> activity source and the processor that builds the request history, and registers the
    /// services they need (options bound from <c>LlmApm</c>, the history store, <see cref="LlmApmInstrumentation"/>).
    /// Adds no exporter: the spans go to the exporters of this provider. Calling it again adds nothing.
    /// </summary>
    /// <param name="builder">The tracer provider builder, for example from
    /// <c>services.AddOpenTelemetry().WithTracing(...)</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="NotSupportedException">The builder cannot take services (it is already built).</exception>
    public static TracerProviderBuilder AddLlmApmInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var first = false;
        builder.ConfigureServices(services =>
        {
            LlmApmServices.AddCore(services);
            first = LlmApmServices.TryMark<TracingRegistration>(services);
        });

        if (first)
        {
            if (builder is not IDeferredTracerProviderBuilder deferred)
            {
                throw new NotSupportedException("AddLlmApmInstrumentation() needs a tracer provider builder that resolves services (Sdk.CreateTracerProviderBuilder() or AddOpenTelemetry().WithTracing()).");
            }

            deferred.Configure((sp, tracing) =>
            {
                var instrumentation = sp.GetRequiredService<LlmApmInstrumentation>();
                if (instrumentation.Enabled)
                {
                    tracing.AddSource(LlmApmTelemetry.SourceName);
                    tracing.AddProcessor(new LlmHistoryProcessor(instrumentation));
                }
            });
        }

        return builder;
    }

    /// <summary>Marks that a tracer provider of this service collection has LLM-APM's source and processor.</summary>
    internal sealed class TracingRegistration;
}
