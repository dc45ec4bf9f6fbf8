using System.Diagnostics;
using LlmApm.Otel.History;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace LlmApm.Otel.Tests;

[Collection(ProcessWideTelemetry.Name)]
public class LlmApmServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddLlmApm_GenericHostWorker_RecordsRequestStepsMetricsAndHistory()
    {
        var exportedMetrics = new List<Metric>();
        using var host = TestHost.Start(build: b => b.Services.AddOpenTelemetry().WithMetrics(m => m.AddInMemoryExporter(exportedMetrics)));

        // A worker handling a queue message: no ASP.NET Core anywhere.
        using (var request = host.Instrumentation.StartRequest("orders-queue"))
        {
            using (LlmStep.Start("preprocessing"))
            {
                await Task.Yield();
            }

            await LlmStep.RunAsync("handle", async ct => await Task.Delay(5, ct));
        }

        host.Flush();
        host.Services.GetRequiredService<MeterProvider>().ForceFlush();

        var requestSpan = Assert.Single(host.Exported, a => a.DisplayName == "llm.request orders-queue");
        Assert.Equal("ok", requestSpan.GetTagItem("llm.status"));
        var steps = host.Exported.Where(a => a.ParentSpanId == requestSpan.SpanId).Select(a => a.DisplayName).ToArray();
        Assert.Equal(["preprocessing", "handle"], steps);

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("orders-queue", record.Route);
        Assert.Equal(["preprocessing", "handle"], record.Steps.Select(s => s.Name));
        Assert.Equal(requestSpan.TraceId.ToHexString(), record.TraceId);

        var metricNames = exportedMetrics.Select(m => m.Name).ToHashSet();
        Assert.Contains("llm.requests", metricNames);
        Assert.Contains("llm.request.latency", metricNames);
        Assert.Contains("llm.step.latency", metricNames);
    }

    [Fact]
    public void AddLlmApm_CalledTwiceAndWithUsersOwnOpenTelemetry_RegistersOnce()
    {
        var exported = new List<Activity>();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(exported));
        builder.AddLlmApm();
        builder.Services.AddLlmApm(o => o.HistoryCapacity = 7);
        using var app = builder.Build();
        app.Start();

        Assert.Single(app.Services.GetServices<LlmApmInstrumentation>());
        Assert.Single(app.Services.GetServices<TracerProvider>());
        var instrumentation = app.Services.GetRequiredService<LlmApmInstrumentation>();
        Assert.Equal(7, instrumentation.Options.HistoryCapacity);

        instrumentation.StartRequest("once").Dispose();
        app.Services.GetRequiredService<TracerProvider>().ForceFlush();

        // One processor: one record, one exported request span.
        Assert.Single(instrumentation.History.Query(new LlmHistoryQuery()));
        Assert.Single(exported, a => a.DisplayName == "llm.request once");
    }

    [Fact]
    public async Task AddLlmApm_EnabledFalseInConfiguration_RecordsNothing()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start(build: b => b.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["LlmApm:Enabled"] = "false" }));

        // Configuration is bound after the builder delegate ran: re-read it through the options.
        Assert.False(host.Instrumentation.Enabled);
        using (var request = host.Instrumentation.StartRequest("off"))
        {
            Assert.Null(LlmRequest.Current?.Activity);
            using var step = LlmStep.Start("preprocessing");
            Assert.Null(step.Activity);
            await Task.Yield();
        }

        host.Flush();
        Assert.DoesNotContain(host.Exported, a => a.Source.Name == LlmApmTelemetry.SourceName);
        Assert.Empty(host.History.Query(new LlmHistoryQuery()));
        Assert.DoesNotContain(metrics.Measurements, m => m.Tag("route") == "off");
    }

    [Fact]
    public void AddLlmApm_ConfigurationSection_BindsPricesModelsAndCapacity()
    {
        using var host = TestHost.Start(build: b => b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmApm:HistoryCapacity"] = "42",
            ["LlmApm:Prices:my-model:InputPerMillion"] = "1.5",
            ["LlmApm:Prices:my-model:OutputPerMillion"] = "3",
            ["LlmApm:Models:0"] = "llama3",
        }));

        var instrumentation = host.Instrumentation;
        Assert.Equal(42, instrumentation.Options.HistoryCapacity);
        Assert.True(instrumentation.Prices.TryGetPrice("my-model", out _, out var price));
        Assert.Equal(1.5m, price.InputPerMillion);
        Assert.Equal("llama3", instrumentation.Models.Tag("llama3"));
        Assert.Equal("other", instrumentation.Models.Tag("mystery-model"));
    }

    [Fact]
    public void AddLlmApm_InvalidCapacity_FailsAtStartWithClearMessage()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["LlmApm:HistoryCapacity"] = "0" });
        builder.AddLlmApm();
        using var app = builder.Build();
        var error = Assert.ThrowsAny<Exception>(() => app.Start());
        Assert.Contains("HistoryCapacity", error.Message, StringComparison.Ordinal);
    }
}
