using System.Diagnostics;
using LlmApm.Otel.History;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.Tests;

/// <summary>How <c>UseLlmApm()</c> measures a call: one clock for the span, the step and the GenAI duration, and
/// request attributes that follow each call's options.</summary>
[Collection(ProcessWideTelemetry.Name)]
public class LlmApmChatClientMeasurementTests
{
    [Fact]
    public async Task GetResponseAsync_WithSpan_SpanStepAndOperationDurationAreOneMeasurement()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var client = new ChatClientBuilder(Quick()).UseLlmApm().Build(host.Services);
        using (host.Instrumentation.StartRequest("/api/chat"))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);
        }

        host.Flush();
        var call = Assert.Single(host.Exported, a => a.DisplayName == "chat gpt-4o-mini");
        var step = Assert.Single(metrics.Of("llm.step.latency"), m => m.Tag("step") == "llm_api_call");
        var operation = Assert.Single(metrics.Of("gen_ai.client.operation.duration"));
        Assert.True(call.Duration > TimeSpan.Zero);
        Assert.Equal(call.Duration.TotalSeconds, step.Value);
        Assert.Equal(call.Duration.TotalSeconds, operation.Value);
        var recorded = Assert.Single(Assert.Single(host.History.Query(new LlmHistoryQuery())).Steps);
        Assert.Equal(call.Duration.TotalMilliseconds, recorded.DurationMs);
    }

    [Fact]
    public async Task GetResponseAsync_ProviderThrows_ExceptionEventWithinTheSpan()
    {
        using var host = TestHost.Start();
        var client = new ChatClientBuilder(Quick(failure: new TimeoutException("slow"))).UseLlmApm().Build(host.Services);
        await Assert.ThrowsAsync<TimeoutException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]));

        host.Flush();
        var call = Assert.Single(host.Exported, a => a.DisplayName == "chat gpt-4o-mini");
        var exception = Assert.Single(call.Events, e => e.Name == "exception");
        Assert.True(exception.Timestamp.UtcDateTime <= call.StartTimeUtc + call.Duration);
        Assert.Equal("timeout", call.GetTagItem("error.type"));
    }

    [Fact]
    public async Task GetResponseAsync_OptionsChangeBetweenCalls_EachSpanHasItsOwn()
    {
        using var host = TestHost.Start();
        var client = new ChatClientBuilder(Quick()).UseLlmApm().Build(host.Services);
        (int MaxTokens, float Temperature)[] calls = [(256, 0.2f), (256, 0.2f), (512, 0.2f), (256, 0.9f)];
        foreach (var (maxTokens, temperature) in calls)
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { MaxOutputTokens = maxTokens, Temperature = temperature });
        }

        host.Flush();
        var spans = host.Exported.Where(a => a.DisplayName == "chat gpt-4o-mini").ToList();
        Assert.Equal(calls.Select(c => (object)c.MaxTokens), spans.Select(s => s.GetTagItem("gen_ai.request.max_tokens")));
        Assert.Equal(calls.Select(c => (object)(double)c.Temperature), spans.Select(s => s.GetTagItem("gen_ai.request.temperature")));
    }

    [Fact]
    public async Task GetResponseAsync_WithoutSpan_MeasuresWithItsOwnClock()
    {
        // An instrumentation whose listener is gone: nothing traces the LlmApm source, its metrics are listened to.
        Assert.False(LlmApmInstruments.Source.HasListeners());
        using var metrics = new MetricCollector();
        var instrumentation = LlmApmInstrumentationFactory.CreateDefault();
        instrumentation.Dispose();
        Assert.False(LlmApmInstruments.Source.HasListeners());
        var client = new LlmApmChatClient(Quick(TimeSpan.FromMilliseconds(20)), instrumentation);

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);

        var step = Assert.Single(metrics.Of("llm.step.latency"), m => m.Tag("step") == "llm_api_call");
        var operation = Assert.Single(metrics.Of("gen_ai.client.operation.duration"));
        Assert.InRange(step.Value, 0.015, 10);
        Assert.InRange(operation.Value, 0.015, 10);
        Assert.Equal(2, metrics.Of("gen_ai.client.token.usage").Count());
        Assert.Equal(10, metrics.Sum("llm.tokens", ("route", "none"), ("model", "gpt-4o-mini"), ("type", "input")));
    }

    // A short reply, so that the call's own time is mostly the provider's delay.
    private static FakeChatClient Quick(TimeSpan delay = default, Exception? failure = null) => new()
    {
        Reply = "Hello.",
        Chunks = ["Hello."],
        Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 2 },
        Delay = delay,
        Failure = failure,
    };
}
