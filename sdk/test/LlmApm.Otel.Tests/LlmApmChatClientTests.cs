using System.Diagnostics;
using LlmApm.Otel.History;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace LlmApm.Otel.Tests;

[Collection(ProcessWideTelemetry.Name)]
public class LlmApmChatClientTests
{
    // A provider answers with the dated version of the model asked for.
    private const string DatedModel = "gpt-4o-mini-2024-07-18";

    private const string Secret = "my secret prompt about alice@example.com";

    [Fact]
    public async Task GetResponseAsync_TwoCallsWritingToTheCache_SumsCacheWriteOnRequestSpanAndRecord()
    {
        using var host = TestHost.Start();
        var writes = new Queue<long>([30, 45]);
        using (var request = host.Instrumentation.StartRequest("/cache-write"))
        {
            foreach (var written in writes)
            {
                var usage = new UsageDetails { InputTokenCount = 100, OutputTokenCount = 10, AdditionalCounts = new() { ["CacheCreationInputTokens"] = written } };
                await Build(host, new FakeChatClient { Model = DatedModel, Usage = usage }).GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);
            }

            Assert.Equal(75, request.Usage.CacheWriteInputTokens);
        }

        using (host.Instrumentation.StartRequest("/no-cache-write"))
        {
            await Build(host, new FakeChatClient { Model = DatedModel, Usage = new UsageDetails { InputTokenCount = 100, OutputTokenCount = 10 } })
                .GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);
        }

        host.Flush();
        var span = Assert.Single(host.Exported, a => a.DisplayName == "llm.request /cache-write");
        Assert.Equal(75L, span.GetTagItem(LlmApmTelemetry.Attributes.UsageCacheWriteInputTokens));
        Assert.Equal(200L, span.GetTagItem(LlmApmTelemetry.Attributes.UsageInputTokens));
        var none = Assert.Single(host.Exported, a => a.DisplayName == "llm.request /no-cache-write");
        Assert.Null(none.GetTagItem(LlmApmTelemetry.Attributes.UsageCacheWriteInputTokens));

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery { Route = "/cache-write" }));
        Assert.Equal(75, record.Usage.CacheWriteInputTokens);
        Assert.Equal(200, record.Usage.InputTokens);
    }

    [Fact]
    public async Task GetResponseAsync_WithReportedUsage_RecordsGenAiSpanUsageAndCost()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var client = Build(host, new FakeChatClient { Model = DatedModel, Usage = new UsageDetails { InputTokenCount = 1200, OutputTokenCount = 300, CachedInputTokenCount = 200 } });

        using (var request = host.Instrumentation.StartRequest("/api/chat"))
        {
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, Secret)], new ChatOptions { MaxOutputTokens = 256, Temperature = 0.2f });
            Assert.Equal("Hello there, friend.", response.Text);
        }

        host.Flush();
        var call = Assert.Single(host.Exported, a => a.DisplayName == "chat gpt-4o-mini");
        Assert.Equal(ActivityKind.Client, call.Kind);
        Assert.Equal("llm_api_call", call.GetTagItem("llm.step.name"));
        Assert.Equal("chat", call.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("fake", call.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("gpt-4o-mini", call.GetTagItem("gen_ai.request.model"));
        Assert.Equal(256, call.GetTagItem("gen_ai.request.max_tokens"));
        Assert.Equal("gpt-4o-mini-2024-07-18", call.GetTagItem("gen_ai.response.model"));
        Assert.Equal("resp-1", call.GetTagItem("gen_ai.response.id"));
        Assert.Equal(["stop"], (string[])call.GetTagItem("gen_ai.response.finish_reasons")!);
        Assert.Equal(1200L, call.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(300L, call.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(200L, call.GetTagItem("gen_ai.usage.cache_read.input_tokens"));
        AssertNoContent(host.Exported);

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("gpt-4o-mini-2024-07-18", record.Model);
        Assert.Equal("fake", record.Provider);
        Assert.Equal(1200, record.Usage.InputTokens);
        Assert.Equal(200, record.Usage.CachedInputTokens);
        Assert.False(record.Usage.Estimated);
        Assert.Equal((1000 * 0.15m + 200 * 0.075m + 300 * 0.60m) / 1_000_000m, record.CostUsd);
        Assert.Null(record.Content);
        var step = Assert.Single(record.Steps);
        Assert.Equal(("llm_api_call", LlmStepKinds.LlmCall), (step.Name, step.Kind));

        Assert.Equal(1200, metrics.Sum("llm.tokens", ("route", "/api/chat"), ("model", "gpt-4o-mini"), ("type", "input")));
        Assert.Equal(200, metrics.Sum("llm.tokens", ("type", "cached_input")));
        Assert.Single(metrics.Of("gen_ai.client.operation.duration"));
        var usage = metrics.Of("gen_ai.client.token.usage").ToList();
        Assert.Equal(["input", "output"], usage.Select(m => m.Tag("gen_ai.token.type")).Order());
        Assert.Equal(1200, usage.Single(m => m.Tag("gen_ai.token.type") == "input").Value);
        Assert.All(usage, m =>
        {
            Assert.Equal("chat", m.Tag("gen_ai.operation.name"));
            Assert.Equal("fake", m.Tag("gen_ai.provider.name"));
            Assert.Equal("gpt-4o-mini", m.Tag("gen_ai.request.model"));
            Assert.Equal(4, m.Tags.Count);
        });
    }

    [Fact]
    public async Task GetResponseAsync_NoReportedUsage_EstimatesWithTokenizerAndFlagsIt()
    {
        using var host = TestHost.Start();
        var client = Build(host, new FakeChatClient { Model = DatedModel, Usage = null });
        using (host.Instrumentation.StartRequest("estimate"))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Count these tokens please")]);
        }

        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.True(record.Usage.Estimated);

        // o200k: "Count these tokens please" is 4 tokens, plus 3 for the message and 3 for the reply's priming.
        Assert.Equal(10, record.Usage.InputTokens);
        Assert.Equal(5, record.Usage.OutputTokens); // "Hello there, friend." → Hello, there, ",", friend, "."
        var call = Assert.Single(host.Exported, a => a.DisplayName.StartsWith("chat", StringComparison.Ordinal));
        Assert.Equal(true, call.GetTagItem("llm.usage.estimated"));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_UsageInLastUpdate_RecordsUsageAndTimeToFirstToken()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var client = Build(host, new FakeChatClient { Model = DatedModel, Usage = new UsageDetails { InputTokenCount = 50, OutputTokenCount = 7 } });
        var text = string.Empty;
        using (host.Instrumentation.StartRequest("/api/chat/stream"))
        {
            await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")]))
            {
                text += update.Text;
            }
        }

        Assert.Equal("Hello there, friend.", text);
        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal(50, record.Usage.InputTokens);
        Assert.Equal(7, record.Usage.OutputTokens);
        Assert.False(record.Usage.Estimated);
        Assert.Equal("ok", record.Status);
        var ttft = Assert.Single(metrics.Of("llm.time_to_first_token"));
        Assert.Equal("/api/chat/stream", ttft.Tag("route"));
        Assert.Equal("gpt-4o-mini", ttft.Tag("model"));
        Assert.Single(metrics.Of("gen_ai.client.operation.time_to_first_chunk"));
        var call = Assert.Single(host.Exported, a => a.DisplayName == "chat gpt-4o-mini");
        Assert.NotNull(call.GetTagItem("gen_ai.response.time_to_first_chunk"));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_NoUsage_EstimatesFromStreamedText()
    {
        using var host = TestHost.Start();
        var client = Build(host, new FakeChatClient { Model = DatedModel, Usage = null });
        using (host.Instrumentation.StartRequest("stream-estimate"))
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")]))
            {
            }
        }

        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.True(record.Usage.Estimated);
        Assert.Equal(5, record.Usage.OutputTokens);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_CallerCancelsMidStream_RecordsCancelledWithTokensSoFar()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var client = Build(host, new FakeChatClient { Model = DatedModel, Usage = new UsageDetails { InputTokenCount = 50, OutputTokenCount = 7 }, Delay = TimeSpan.FromMilliseconds(20) });
        using var cts = new CancellationTokenSource();
        var received = string.Empty;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            using var request = host.Instrumentation.StartRequest("/api/chat/stream", cancellationToken: cts.Token);
            try
            {
                await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")], cancellationToken: cts.Token))
                {
                    received += update.Text;
                    if (received.Length >= "Hello there,".Length)
                    {
                        cts.Cancel();
                    }
                }
            }
            catch (Exception ex)
            {
                request.Fail(ex);
                throw;
            }
        });

        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("cancelled", record.ErrorType);
        Assert.Equal("cancelled", Assert.Single(record.Steps).ErrorType);
        Assert.True(record.Usage.Estimated);
        Assert.Equal(3, record.Usage.OutputTokens); // "Hello", " there", ","
        Assert.True(record.Usage.InputTokens > 0);
        Assert.NotNull(record.CostUsd);
        Assert.Equal(1, metrics.Sum("llm.errors", ("error_type", "cancelled"), ("step", "llm_api_call")));
    }

    [Fact]
    public async Task GetResponseAsync_ProviderThrows_ClassifiesAndRethrows()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var boom = new HttpRequestException("busy", null, System.Net.HttpStatusCode.TooManyRequests);
        var client = Build(host, new FakeChatClient { Model = DatedModel, Failure = boom });
        using (var request = host.Instrumentation.StartRequest("/api/chat"))
        {
            var thrown = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]));
            Assert.Same(boom, thrown);
            request.Fail(thrown);
        }

        host.Flush();
        var call = Assert.Single(host.Exported, a => a.DisplayName == "chat gpt-4o-mini");
        Assert.Equal(ActivityStatusCode.Error, call.Status);
        Assert.Equal("rate_limited", call.GetTagItem("error.type"));
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("rate_limited", record.ErrorType);
        Assert.Equal(1, metrics.Sum("llm.errors", ("route", "/api/chat"), ("step", "llm_api_call"), ("error_type", "rate_limited")));
        Assert.Single(metrics.Of("gen_ai.client.operation.duration"), m => m.Tag("error.type") == "rate_limited");
    }

    [Fact]
    public async Task GetResponseAsync_WithoutRequestContext_StillRecordsCallAndUsage()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var client = Build(host, new FakeChatClient { Model = DatedModel, Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 4 } });

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "bare")]);

        host.Flush();
        Assert.Single(host.Exported, a => a.DisplayName == "chat gpt-4o-mini");
        Assert.Equal(10, metrics.Sum("llm.tokens", ("route", "none"), ("type", "input")));
        Assert.True(metrics.Sum("llm.cost.usd", ("route", "none")) > 0);
        Assert.Empty(host.History.Query(new LlmHistoryQuery()));
    }

    [Fact]
    public async Task GetResponseAsync_BuiltWithoutDependencyInjection_AddsNoListenerAndEmitsToTheProviderThatListens()
    {
        Assert.False(LlmApmInstruments.Source.HasListeners(), "precondition: nothing else listens to the LlmApm source");
        using var metrics = new MetricCollector();
        using var client = new ChatClientBuilder(new FakeChatClient { Model = DatedModel }).UseLlmApm().Build();

        await client.GetResponseAsync([new ChatMessage(ChatRole.User, "no host")]);

        // Metrics still flow, but the client added no process-wide listener behind the user's back.
        Assert.Single(metrics.Of("gen_ai.client.operation.duration"));
        Assert.Equal(10, metrics.Sum("llm.tokens", ("route", "none"), ("type", "input")));
        Assert.False(LlmApmInstruments.Source.HasListeners());

        // A tracer provider of the user's that listens gets the call's span.
        var exported = new List<Activity>();
        using (var provider = OpenTelemetry.Sdk.CreateTracerProviderBuilder().AddSource(LlmApmTelemetry.SourceName).AddInMemoryExporter(exported).Build())
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "no host")]);
        }

        var call = Assert.Single(exported);
        Assert.Equal("chat gpt-4o-mini", call.DisplayName);
        Assert.Equal("fake", call.GetTagItem("gen_ai.provider.name"));
        Assert.False(LlmApmInstruments.Source.HasListeners());
    }

    [Fact]
    public async Task GetResponseAsync_UnknownResponseModel_TagsOtherButKeepsRealNameOnSpanAndHistory()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var client = Build(host, new FakeChatClient { Model = "my-finetune-xyz", Usage = new UsageDetails { InputTokenCount = 1, OutputTokenCount = 1 } });
        using (host.Instrumentation.StartRequest("unknown-model"))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "x")]);
        }

        host.Flush();
        Assert.Equal("my-finetune-xyz", Assert.Single(host.History.Query(new LlmHistoryQuery())).Model);
        Assert.Equal("my-finetune-xyz", Assert.Single(host.Exported, a => a.DisplayName.StartsWith("chat", StringComparison.Ordinal)).GetTagItem("gen_ai.response.model"));
        Assert.All(metrics.Measurements.Where(m => m.Tag("route") == "unknown-model" && m.Tags.ContainsKey("model")), m => Assert.Equal("other", m.Tag("model")));
        Assert.Equal(1, metrics.Sum("llm.price.misses", ("model", "my-finetune-xyz")));
    }

    [Fact]
    public async Task GetResponseAsync_ContentCaptureOn_RecordsRedactedContent()
    {
        using var host = TestHost.Start(o => o.CaptureMessageContent = true);
        var client = Build(host, new FakeChatClient { Model = DatedModel, Reply = "Your key is sk-abcdefghijklmnopqrstuvwxyz123456 ok" });
        using (host.Instrumentation.StartRequest("capture"))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, Secret)]);
        }

        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.NotNull(record.Content);
        Assert.Contains("my secret prompt about [REDACTED]", record.Content!.Prompt, StringComparison.Ordinal);
        Assert.Equal("Your key is [REDACTED] ok", record.Content.Completion);
        var call = Assert.Single(host.Exported, a => a.DisplayName.StartsWith("chat", StringComparison.Ordinal));
        var input = (string)call.GetTagItem("gen_ai.input.messages")!;
        Assert.Contains("[REDACTED]", input, StringComparison.Ordinal);
        Assert.DoesNotContain("alice@example.com", input, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-abcdefghij", (string)call.GetTagItem("gen_ai.output.messages")!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetResponseAsync_ContentCaptureWithUserRedactor_AppliesIt()
    {
        using var host = TestHost.Start(o =>
        {
            o.CaptureMessageContent = true;
            o.Redactor = LlmContentRedactor.WithPatterns(new System.Text.RegularExpressions.Regex(@"ACC-\d+"));
        });
        var client = Build(host, new FakeChatClient { Model = DatedModel });
        using (host.Instrumentation.StartRequest("capture-user"))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "account ACC-12345 for bob@example.org")]);
        }

        host.Flush();
        var prompt = Assert.Single(host.History.Query(new LlmHistoryQuery())).Content!.Prompt!;
        Assert.Equal("user: account [REDACTED] for [REDACTED]", prompt);
    }

    [Fact]
    public void CaptureMessageContent_DefaultsFromStandardEnvironmentVariable()
    {
        var before = Environment.GetEnvironmentVariable(LlmApmOptions.CaptureMessageContentEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(LlmApmOptions.CaptureMessageContentEnvironmentVariable, null);
            Assert.False(new LlmApmOptions().CaptureMessageContent);
            Environment.SetEnvironmentVariable(LlmApmOptions.CaptureMessageContentEnvironmentVariable, "true");
            Assert.True(new LlmApmOptions().CaptureMessageContent);
        }
        finally
        {
            Environment.SetEnvironmentVariable(LlmApmOptions.CaptureMessageContentEnvironmentVariable, before);
        }
    }

    private static IChatClient Build(TestHost host, IChatClient inner) => inner.AsBuilder().UseLlmApm().Build(host.Services);

    private static void AssertNoContent(IEnumerable<Activity> spans)
    {
        foreach (var span in spans)
        {
            foreach (var tag in span.TagObjects)
            {
                Assert.DoesNotContain("secret", tag.Value?.ToString() ?? string.Empty, StringComparison.Ordinal);
            }
        }
    }
}
