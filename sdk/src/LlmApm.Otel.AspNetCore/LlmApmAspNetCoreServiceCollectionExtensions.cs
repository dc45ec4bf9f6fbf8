using LlmApm.Otel.AspNetCore;
using LlmApm.Otel.AspNetCore.Implementation;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers what <c>app.MapLlmApm()</c> serves: its options, the Prometheus exporter and the OpenAPI document of
/// the history API.
/// </summary>
public static class LlmApmAspNetCoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers the services of the LLM-APM endpoints: <see cref="LlmApmEndpointOptions"/> bound from the
    /// <c>LlmApm:Dashboard</c> configuration section, <see cref="LlmApmAttributionOptions"/> (who the requests of
    /// <c>WithLlmApm()</c> endpoints are for) bound from <c>LlmApm:Attribution</c>, the Prometheus exporter on the OpenTelemetry meter provider
    /// (so that the <c>llm_*</c> series can be scraped at <c>/metrics</c>), and the OpenAPI document
    /// <c>llm-apm</c> of the history API. Call it beside <c>services.AddLlmApm()</c>; calling it twice is harmless.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The same service collection, for chaining.</returns>
    public static IServiceCollection AddLlmApmEndpoints(this IServiceCollection services)
        => AddLlmApmEndpoints(services, configure: null);

    /// <summary>
    /// Registers the services of the LLM-APM endpoints, as <see cref="AddLlmApmEndpoints(IServiceCollection)"/>
    /// does, and configures <see cref="LlmApmEndpointOptions"/> after the configuration binding.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options; runs after the <c>LlmApm:Dashboard</c> section is bound.</param>
    /// <returns>The same service collection, for chaining.</returns>
    public static IServiceCollection AddLlmApmEndpoints(this IServiceCollection services, Action<LlmApmEndpointOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);

        if (!services.Any(d => d.ServiceType == typeof(LlmApmEndpointsMarker)))
        {
            services.AddSingleton<LlmApmEndpointsMarker>();
            services.AddOptions<LlmApmEndpointOptions>().BindConfiguration(LlmApmEndpointOptions.ConfigurationSection).ValidateOnStart();
            services.AddSingleton<IValidateOptions<LlmApmEndpointOptions>, LlmApmEndpointOptionsValidator>();
            services.AddOptions<LlmApmAttributionOptions>().BindConfiguration(LlmApmAttributionOptions.ConfigurationSection).ValidateOnStart();
            services.AddSingleton<IValidateOptions<LlmApmAttributionOptions>, LlmApmAttributionOptionsValidator>();
            services.TryAddSingleton<LlmApmStreamConnections>();
            services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddPrometheusExporter());
            LlmApmOpenApi.Register(services);
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return services;
    }
}
