using System.Diagnostics;
using LlmApm.Otel.History;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace LlmApm.Otel.Tests;

/// <summary>AddLlmApm() in the OpenTelemetry setups .NET hosts already have: LLM-APM's spans reach the host's exporter,
/// its history fills, and exactly one OTLP exporter sends them (counted by a loopback OTLP/HTTP receiver).</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class LlmApmHostsTests : IDisposable
{
    private readonly OtlpReceiver receiver = new();
    private readonly List<Activity> exported = [];

    public void Dispose() => this.receiver.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AddLlmApm_AspireServiceDefaultsUseOtlpExporter_StartsAndExportsOnce(bool llmApmFirst)
    {
        using var host = this.Start(llmApmFirst, otel => otel.UseOtlpExporter());

        this.AssertRecordedAndExportedOnce(host, "aspire");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AddLlmApm_HostsOwnPerSignalOtlpExporter_ExportsOnce(bool llmApmFirst)
    {
        using var host = this.Start(llmApmFirst, otel => otel.WithTracing(t => t.AddOtlpExporter()).WithMetrics(m => m.AddOtlpExporter()));

        this.AssertRecordedAndExportedOnce(host, "per-signal");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AddLlmApm_HostWithoutOtlpAndEndpointSet_AddsItsOwnExporter(bool llmApmFirst)
    {
        using var host = this.Start(llmApmFirst, otel => { });

        this.AssertRecordedAndExportedOnce(host, "distro");
    }

    [Theory]
    [InlineData("code")]
    [InlineData("configuration")]
    public void AddLlmApm_UseOtlpExporterFalse_AddsNoExporterThoughEndpointIsSet(string how)
    {
        using var host = this.Start(
            llmApmFirst: true,
            otel => { },
            configure: how == "code" ? o => o.UseOtlpExporter = false : null,
            settings: how == "configuration" ? new() { ["LlmApm:UseOtlpExporter"] = "false" } : null);

        RunRequest(host, "no-otlp");

        Assert.Single(this.exported, a => a.DisplayName == "llm.request no-otlp");
        Assert.Empty(this.receiver.Requests);
    }

    [Fact]
    public void AddLlmApmInstrumentation_OnHostsBuilders_RecordsAndAddsNoExporter()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(this.OtlpSettings());
        var metrics = new List<Metric>();
        builder.Services.AddOpenTelemetry()
            .WithTracing(t => t.AddLlmApmInstrumentation().AddLlmApmInstrumentation().AddInMemoryExporter(this.exported))
            .WithMetrics(m => m.AddLlmApmInstrumentation().AddInMemoryExporter(metrics));
        using var host = builder.Build();
        host.Start();

        RunRequest(host, "instrumentation");
        host.Services.GetRequiredService<MeterProvider>().ForceFlush();

        // Twice on one builder is once: one processor, one record.
        Assert.Single(this.exported, a => a.DisplayName == "llm.request instrumentation");
        Assert.Single(History(host));
        Assert.Contains(metrics, m => m.Name == "llm.requests");
        Assert.Empty(this.receiver.Requests);
    }

    [Fact]
    public async Task AddLlmApm_OtelSdkDisabled_StartsAndRecordsNothing()
    {
        using var host = this.Start(
            llmApmFirst: true,
            otel => otel.UseOtlpExporter(),
            settings: new() { ["OTEL_SDK_DISABLED"] = "true" });
        var instrumentation = host.Services.GetRequiredService<LlmApmInstrumentation>();

        using (instrumentation.StartRequest("disabled"))
        {
            await LlmStep.RunAsync("step", ct => Task.Delay(1, ct));
        }

        host.Services.GetRequiredService<TracerProvider>().ForceFlush();
        Assert.False(instrumentation.Enabled);
        Assert.Empty(this.exported);
        Assert.Empty(History(host));
        Assert.Empty(this.receiver.Requests);
    }

    private static void RunRequest(IHost host, string route)
    {
        using (host.Services.GetRequiredService<LlmApmInstrumentation>().StartRequest(route))
        using (LlmStep.Start("step"))
        {
        }

        Assert.True(host.Services.GetRequiredService<TracerProvider>().ForceFlush());
    }

    private static IReadOnlyList<LlmRequestRecord> History(IHost host)
        => host.Services.GetRequiredService<ILlmHistoryStore>().Query(new LlmHistoryQuery());

    private void AssertRecordedAndExportedOnce(IHost host, string route)
    {
        RunRequest(host, route);

        var span = Assert.Single(this.exported, a => a.DisplayName == $"llm.request {route}");
        var record = Assert.Single(History(host));
        Assert.Equal(span.TraceId.ToHexString(), record.TraceId);
        Assert.Equal(["step"], record.Steps.Select(s => s.Name));

        // One exporter: one export of the flushed spans, and it carries LLM-APM's request span.
        var export = Assert.Single(this.receiver.To("/v1/traces"));
        Assert.True(OtlpReceiver.Contains(export.Body, $"llm.request {route}"));
    }

    private Dictionary<string, string?> OtlpSettings() => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = this.receiver.Endpoint,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
    };

    private IHost Start(bool llmApmFirst, Action<IOpenTelemetryBuilder> hostOtel, Action<LlmApmOptions>? configure = null, Dictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(this.OtlpSettings());
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        if (llmApmFirst)
        {
            builder.Services.AddLlmApm(configure);
        }

        // The host's own setup, as the ServiceDefaults template writes it.
        var otel = builder.Services.AddOpenTelemetry()
            .WithTracing(t => t.AddInMemoryExporter(this.exported))
            .WithMetrics(m => m.AddMeter("Host"));
        hostOtel(otel);
        if (!llmApmFirst)
        {
            builder.AddLlmApm(configure);
        }

        var host = builder.Build();
        host.Start();
        return host;
    }
}
