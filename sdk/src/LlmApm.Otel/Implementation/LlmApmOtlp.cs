using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Exporter;

namespace LlmApm.Otel;

/// <summary>
/// The OTLP exporter that <c>AddLlmApm()</c> adds for a host that has none. Decided when the provider is built, from
/// the resolved options. It never goes through OpenTelemetry's <c>AddOtlpExporter</c>/<c>UseOtlpExporter</c>, so it
/// can never collide with the host's own calls of them.
/// </summary>
internal static class LlmApmOtlp
{
    public const string EndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";
    private const string ProtocolKey = "OTEL_EXPORTER_OTLP_PROTOCOL";
    private const string HeadersKey = "OTEL_EXPORTER_OTLP_HEADERS";

    /// <summary>Whether LLM-APM adds its exporter: wanted by the options (or, by default, an endpoint is configured),
    /// and nothing in the host configured OTLP itself.</summary>
    public static bool ShouldAdd(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<LlmApmOptions>>().Value;
        if (!options.Enabled)
        {
            return false;
        }

        var wanted = options.UseOtlpExporter ?? !string.IsNullOrWhiteSpace(services.GetService<IConfiguration>()?[EndpointKey]);
        return wanted && !HostHasOtlp(services);
    }

    /// <summary>The host's <c>UseOtlpExporter()</c> and every <c>AddOtlpExporter()</c> register OpenTelemetry's own
    /// options factory for <see cref="OtlpExporterOptions"/>; without them the default factory of the options API is
    /// there.</summary>
    public static bool HostHasOtlp(IServiceProvider services)
        => services.GetService<IOptionsFactory<OtlpExporterOptions>>() is { } factory
            && factory.GetType() != typeof(OptionsFactory<OtlpExporterOptions>);

    /// <summary>Options of one signal's exporter: the standard OTLP settings from the host's configuration, else from
    /// the environment.</summary>
    /// <param name="services">The provider's services.</param>
    /// <param name="signalPath">The path the OTLP/HTTP specification appends to a base endpoint (<c>v1/traces</c>).</param>
    public static OtlpExporterOptions CreateOptions(IServiceProvider services, string signalPath)
    {
        var options = new OtlpExporterOptions();
        if (services.GetService<IConfiguration>() is not { } configuration)
        {
            return options;
        }

        var protocol = configuration[ProtocolKey];
        if (string.Equals(protocol, "http/protobuf", StringComparison.OrdinalIgnoreCase))
        {
            options.Protocol = OtlpExportProtocol.HttpProtobuf;
        }
        else if (string.Equals(protocol, "grpc", StringComparison.OrdinalIgnoreCase))
        {
            options.Protocol = OtlpExportProtocol.Grpc;
        }

        if (Uri.TryCreate(configuration[EndpointKey], UriKind.Absolute, out var endpoint))
        {
            // A base endpoint set in code is used as is, so the signal's path is appended here as the specification says.
            options.Endpoint = options.Protocol == OtlpExportProtocol.HttpProtobuf
                ? new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/" + signalPath)
                : endpoint;
        }

        if (configuration[HeadersKey] is { Length: > 0 } headers)
        {
            options.Headers = headers;
        }

        return options;
    }
}
