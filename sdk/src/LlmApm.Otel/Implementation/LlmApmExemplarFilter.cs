using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace LlmApm.Otel;

/// <summary>
/// Turns on trace-based exemplars for the host's meter provider, so that a scraped latency or cost sample names the
/// trace of a request that made it. <c>AddLlmApm()</c> registers it ahead of every other configuration of the
/// provider: a host's own <c>SetExemplarFilter</c> runs later and wins, and a filter set in configuration
/// (<c>OTEL_METRICS_EXEMPLAR_FILTER</c>) is left to the SDK.
/// </summary>
internal static class LlmApmExemplarFilter
{
    /// <summary>The OpenTelemetry setting for the provider's exemplar filter.</summary>
    internal const string FilterKey = "OTEL_METRICS_EXEMPLAR_FILTER";

    /// <summary>The OpenTelemetry .NET setting for the histograms' exemplar filter.</summary>
    internal const string HistogramFilterKey = "OTEL_DOTNET_EXPERIMENTAL_METRICS_EXEMPLAR_FILTER_HISTOGRAMS";

    /// <summary>Registers the filter first among the service collection's meter provider configurations.</summary>
    public static void AddFirst(IServiceCollection services)
    {
        // The SDK runs the configurations in registration order and the last filter set wins: moved to the front, this
        // one is overridden by any a host registers, before or after AddLlmApm().
        var count = services.Count;
        services.ConfigureOpenTelemetryMeterProvider(Configure);
        if (services.Count == count + 1)
        {
            var added = services[count];
            services.RemoveAt(count);
            services.Insert(0, added);
        }
    }

    private static void Configure(IServiceProvider serviceProvider, MeterProviderBuilder meterProviderBuilder)
    {
        var configuration = serviceProvider.GetService<IConfiguration>();
        if (configuration?[FilterKey] is not null || configuration?[HistogramFilterKey] is not null
            || !serviceProvider.GetRequiredService<LlmApmInstrumentation>().Enabled)
        {
            return;
        }

        meterProviderBuilder.SetExemplarFilter(ExemplarFilterType.TraceBased);
    }
}
