using System.Diagnostics.Metrics;
using LlmApm.Otel.History;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.Tests;

public class LlmApmTelemetryTests
{
    public static TheoryData<string, string?> Contract => new()
    {
        { "llm.requests", "{request}" },
        { "llm.request.latency", "s" },
        { "llm.step.latency", "s" },
        { "llm.tokens", "{token}" },
        { "llm.cost.usd", null },
        { "llm.errors", "{error}" },
        { "llm.time_to_first_token", "s" },
        { "llm.requests.active", "{request}" },
        { "llm.price.misses", "{call}" },
        { "llm.history.dropped", "{record}" },
        { "gen_ai.client.operation.duration", "s" },
        { "gen_ai.client.token.usage", "{token}" },
        { "gen_ai.client.operation.time_to_first_chunk", "s" },
    };

    [Theory]
    [MemberData(nameof(Contract))]
    public void Meter_PublishesContractInstrumentsWithUnitAndDescription(string name, string? unit)
    {
        using var metrics = new MetricCollector();
        Assert.True(metrics.Instruments.TryGetValue(name, out var instrument), $"{name} is not published");
        Assert.Equal(unit, instrument.Unit);
        Assert.False(string.IsNullOrWhiteSpace(instrument.Description));
        Assert.Equal(LlmApmTelemetry.MeterName, instrument.Meter.Name);
        Assert.False(string.IsNullOrEmpty(instrument.Meter.Version));
    }

    [Fact]
    public void Histograms_AdviseBucketsInSeconds()
    {
        using var metrics = new MetricCollector();
        var latency = (Histogram<double>)metrics.Instruments["llm.request.latency"];
        var buckets = latency.Advice!.HistogramBucketBoundaries!;
        Assert.True(buckets[0] < 1 && buckets[^1] <= 300, "Buckets must be seconds, not milliseconds.");
        Assert.Equal([0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
            ((Histogram<double>)metrics.Instruments["gen_ai.client.operation.duration"]).Advice!.HistogramBucketBoundaries!);
    }

    [Fact]
    public void ModelTag_TenThousandDistinctModels_StayBounded()
    {
        using var host = TestHost.Start();
        var tags = Enumerable.Range(0, 10_000).Select(i => host.Instrumentation.Models.Tag($"model-{i}")).ToHashSet();
        var misses = Enumerable.Range(0, 10_000).Select(i => host.Instrumentation.Models.MissTag($"model-{i}")).ToHashSet();
        Assert.Equal(["other"], tags);
        Assert.True(misses.Count <= 17, $"{misses.Count} price-miss tag values");
    }

    [Fact]
    public void RouteTag_TenThousandDistinctRoutes_KeepFirstHundredThenOther()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start(o => o.HistoryCapacity = 10);
        for (var i = 0; i < 10_000; i++)
        {
            host.Instrumentation.StartRequest($"/orders/{i}").Dispose();
        }

        host.Instrumentation.StartRequest(new string('x', 300)).Dispose();
        var routes = metrics.Of("llm.requests").Select(m => m.Tag("route")).ToHashSet();
        Assert.Equal(101, routes.Count);
        Assert.Contains("other", routes);
        Assert.Contains("/orders/0", routes);
        Assert.DoesNotContain("/orders/100", routes);

        // The history keeps the route as given.
        Assert.Equal(new string('x', 300), host.History.Query(new LlmHistoryQuery { Limit = 1 })[0].Route);
    }

    [Fact]
    public void UseLlmApm_IsAnExtensionOfChatClientBuilder()
    {
        using var inner = new FakeChatClient();
        using var built = inner.AsBuilder().UseLlmApm().Build();
        Assert.IsType<LlmApmChatClient>(built);
    }
}
