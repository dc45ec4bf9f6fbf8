using System.Diagnostics;
using System.Runtime.CompilerServices;
using LlmApm.Otel.History;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.Tests;

/// <summary>How <c>UseLlmApm()</c> measures a call: one clock for the span, the step and the GenAI duration, and
/// request attributes that follow each call's options.</summary>
public class LlmApmChatClientMeasurementTests
{
    [Fact]
    public async Task GetResponseAsync_WithSpan_SpanStepAndOperationDurationAreOneMeasurement()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var client = new ChatClientBuilder(new QuickChatClient()).UseLlmApm().Build(host.Services);
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
        var client = new ChatClientBuilder(new QuickChatClient { Failure = new TimeoutException("slow") }).UseLlmApm().Build(host.Services);
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
        var client = new ChatClientBuilder(new QuickChatClient()).UseLlmApm().Build(host.Services);
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
        var client = new LlmApmChatClient(new QuickChatClient { Delay = TimeSpan.FromMilliseconds(20) }, instrumentation);

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);

        var step = Assert.Single(metrics.Of("llm.step.latency"), m => m.Tag("step") == "llm_api_call");
        var operation = Assert.Single(metrics.Of("gen_ai.client.operation.duration"));
        Assert.InRange(step.Value, 0.015, 10);
        Assert.InRange(operation.Value, 0.015, 10);
        Assert.Equal(2, metrics.Of("gen_ai.client.token.usage").Count());
        Assert.Equal(10, metrics.Sum("llm.tokens", ("route", "none"), ("model", "gpt-4o-mini"), ("type", "input")));
    }

    private sealed class QuickChatClient : IChatClient
    {
        public Exception? Failure { get; init; }

        public TimeSpan Delay { get; init; }

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            await Task.Delay(this.Delay, cancellationToken);
            if (this.Failure is not null)
            {
                throw this.Failure;
            }

            return new ChatResponse(new ChatMessage(ChatRole.Assistant, "Hello."))
            {
                ModelId = "gpt-4o-mini",
                ResponseId = "resp-1",
                FinishReason = ChatFinishReason.Stop,
                Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 2 },
            };
        }

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, "Hello.") { ModelId = "gpt-4o-mini" };
        }

        public object? GetService(Type serviceType, object? serviceKey = null)
            => serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("fake", null, "gpt-4o-mini") : null;

        public void Dispose()
        {
        }
    }
}
