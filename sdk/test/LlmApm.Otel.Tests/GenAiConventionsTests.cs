using System.Diagnostics;
using System.Text.Json;
using LlmApm.Otel.History;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace LlmApm.Otel.Tests;

/// <summary>The GenAI conventions on LLM-APM's chat spans and metrics: request attributes, usage details, opt-in content
/// in the conventions' parts shape, the streaming chunk metrics, and the spans as an OTLP receiver gets them.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class GenAiConventionsTests
{
    [Fact]
    public async Task GetResponseAsync_Options_RequestAttributesServerAndUsageDetails()
    {
        using var host = TestHost.Start();
        var usage = new UsageDetails { InputTokenCount = 100, OutputTokenCount = 40, ReasoningTokenCount = 12, AdditionalCounts = new() { ["CacheCreationInputTokens"] = 30 } };
        var client = new FakeChatClient { Usage = usage, Metadata = new ChatClientMetadata("fake", new Uri("https://llm.example.test:9443/v1"), FakeChatClient.DefaultModel) }
            .AsBuilder().UseLlmApm().Build(host.Services);

        using (host.Instrumentation.StartRequest("/api/chat", conversationId: "from-request"))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions
            {
                TopP = 0.5f,
                TopK = 40,
                FrequencyPenalty = 0.25f,
                PresencePenalty = 0.75f,
                Seed = 42,
                StopSequences = ["END", "STOP"],
                ResponseFormat = ChatResponseFormat.Json,
                ConversationId = "conv-options",
            });
        }

        host.Flush();
        var span = Assert.Single(host.Exported, a => a.DisplayName == "chat gpt-4o-mini");
        Assert.Equal(0.5, span.GetTagItem("gen_ai.request.top_p"));
        Assert.Equal(40, span.GetTagItem("gen_ai.request.top_k"));
        Assert.Equal(0.25, span.GetTagItem("gen_ai.request.frequency_penalty"));
        Assert.Equal(0.75, span.GetTagItem("gen_ai.request.presence_penalty"));
        Assert.Equal(42L, span.GetTagItem("gen_ai.request.seed"));
        Assert.Equal(["END", "STOP"], (string[])span.GetTagItem("gen_ai.request.stop_sequences")!);
        Assert.Equal("json", span.GetTagItem("gen_ai.output.type"));
        Assert.Equal("conv-options", span.GetTagItem("gen_ai.conversation.id"));
        Assert.Equal("llm.example.test", span.GetTagItem("server.address"));
        Assert.Equal(9443, span.GetTagItem("server.port"));
        Assert.Equal(12L, span.GetTagItem("gen_ai.usage.reasoning.output_tokens"));
        Assert.Equal(30L, span.GetTagItem("gen_ai.usage.cache_creation.input_tokens"));

        // Content stays off by default.
        Assert.Null(span.GetTagItem("gen_ai.input.messages"));
        Assert.Null(span.GetTagItem("gen_ai.tool.definitions"));
    }

    [Fact]
    public async Task GetResponseAsync_CaptureOnAndCallFails_InputKeptOnSpanAndInHistory()
    {
        using var host = TestHost.Start(o => o.CaptureMessageContent = true);
        var client = new FakeChatClient { Failure = new TimeoutException("slow") }.AsBuilder().UseLlmApm().Build(host.Services);

        using (host.Instrumentation.StartRequest("/api/chat"))
        {
            await Assert.ThrowsAsync<TimeoutException>(() => client.GetResponseAsync(
                [new ChatMessage(ChatRole.System, "be brief"), new ChatMessage(ChatRole.User, "mail bob@example.com")],
                new ChatOptions { Instructions = "answer in English" }));
        }

        host.Flush();
        var span = Assert.Single(host.Exported, a => a.DisplayName == "chat gpt-4o-mini");
        using var input = JsonDocument.Parse((string)span.GetTagItem("gen_ai.input.messages")!);
        Assert.Equal(["system", "user"], input.RootElement.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        var userPart = input.RootElement[1].GetProperty("parts")[0];
        Assert.Equal(("text", "mail [REDACTED]"), (userPart.GetProperty("type").GetString(), userPart.GetProperty("content").GetString()));
        using var instructions = JsonDocument.Parse((string)span.GetTagItem("gen_ai.system_instructions")!);
        Assert.Equal(["answer in English", "be brief"], instructions.RootElement.EnumerateArray().Select(p => p.GetProperty("content").GetString()));
        Assert.Null(span.GetTagItem("gen_ai.output.messages"));

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("system: be brief\nuser: mail [REDACTED]", record.Content!.Prompt);
        Assert.Null(record.Content.Completion);
    }

    [Fact]
    public async Task GetResponseAsync_CaptureOnWithTools_ToolCallPartsAndDefinitions()
    {
        using var host = TestHost.Start(o => o.CaptureMessageContent = true);
        var client = new FakeChatClient { ToolCall = new FunctionCallContent("call-7", "get_time", new Dictionary<string, object?> { ["zone"] = "utc" }) }
            .AsBuilder().UseFunctionInvocation().UseLlmApm().Build(host.Services);

        using (host.Instrumentation.StartRequest("/api/tools"))
        {
            await client.GetResponseAsync(
                [new ChatMessage(ChatRole.User, "time?")],
                new ChatOptions { Tools = [AIFunctionFactory.Create((string zone) => "12:00 " + zone, "get_time", "The current time.")] });
        }

        host.Flush();
        var chats = host.Exported.Where(a => a.DisplayName == "chat gpt-4o-mini").OrderBy(a => a.StartTimeUtc).ToList();
        Assert.Equal(2, chats.Count);

        using var firstOutput = JsonDocument.Parse((string)chats[0].GetTagItem("gen_ai.output.messages")!);
        var call = firstOutput.RootElement[0].GetProperty("parts")[0];
        Assert.Equal(("tool_call", "call-7", "get_time", "utc"), (call.GetProperty("type").GetString(), call.GetProperty("id").GetString(), call.GetProperty("name").GetString(), call.GetProperty("arguments").GetProperty("zone").GetString()));
        Assert.Equal("tool_calls", firstOutput.RootElement[0].GetProperty("finish_reason").GetString());

        using var secondInput = JsonDocument.Parse((string)chats[1].GetTagItem("gen_ai.input.messages")!);
        var response = secondInput.RootElement.EnumerateArray().SelectMany(m => m.GetProperty("parts").EnumerateArray()).Single(p => p.GetProperty("type").GetString() == "tool_call_response");
        Assert.Equal(("call-7", "12:00 utc"), (response.GetProperty("id").GetString(), response.GetProperty("response").GetString()));

        using var definitions = JsonDocument.Parse((string)chats[0].GetTagItem("gen_ai.tool.definitions")!);
        var definition = Assert.Single(definitions.RootElement.EnumerateArray());
        Assert.Equal(("function", "get_time"), (definition.GetProperty("type").GetString(), definition.GetProperty("name").GetString()));
        Assert.Equal(JsonValueKind.Object, definition.GetProperty("parameters").GetProperty("properties").GetProperty("zone").ValueKind);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Chunks_TimeToFirstChunkOnceAndTimePerOutputChunkAfter()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var fake = new FakeChatClient();
        var client = fake.AsBuilder().UseLlmApm().Build(host.Services);

        using (host.Instrumentation.StartRequest("/api/stream"))
        {
            await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")]))
            {
                _ = update;
            }
        }

        // The fake streams its text chunks, then one update with the usage only: every update is a chunk.
        Assert.Single(metrics.Of("gen_ai.client.operation.time_to_first_chunk"));
        Assert.Equal(fake.Chunks.Count, metrics.Of("gen_ai.client.operation.time_per_output_chunk").Count());
        Assert.All(metrics.Of("gen_ai.client.operation.time_per_output_chunk"), m => Assert.Equal("chat", m.Tag("gen_ai.operation.name")));
        Assert.Single(metrics.Of("llm.time_to_first_token"));
        Assert.Equal(
            LlmApmInstruments.GenAiDurationBuckets,
            ((System.Diagnostics.Metrics.Histogram<double>)metrics.Instruments["gen_ai.client.operation.time_to_first_chunk"]).Advice!.HistogramBucketBoundaries!);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GetResponseAsync_EstimatedUsage_GenAiTokenUsageOnlyWhenAsked(bool estimateGenAiTokenUsage)
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start(o => o.EstimateGenAiTokenUsage = estimateGenAiTokenUsage);
        var client = new FakeChatClient { Usage = null }.AsBuilder().UseLlmApm().Build(host.Services);

        using (host.Instrumentation.StartRequest("/api/chat"))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "a few words to estimate")]);
        }

        Assert.Equal(estimateGenAiTokenUsage ? 2 : 0, metrics.Of("gen_ai.client.token.usage").Count());
        Assert.True(metrics.Sum("llm.tokens", ("route", "/api/chat"), ("type", "input")) > 0);
    }

    [Fact]
    public async Task Otlp_ToolAndEmbeddingSpans_ReachTheReceiverWithTheConventionsAttributes()
    {
        using var receiver = new OtlpReceiver();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });
        builder.AddLlmApm();
        builder.Services.AddOpenTelemetry().UseOtlpExporter();
        using var host = builder.Build();
        await host.StartAsync();
        var client = new FakeChatClient { ToolCall = new FunctionCallContent("call-otlp", "get_time") }
            .AsBuilder().UseFunctionInvocation().UseLlmApm().Build(host.Services);
        var generator = new EmbeddingGenerator().AsBuilder().UseLlmApm().Build(host.Services);

        using (host.Services.GetRequiredService<LlmApmInstrumentation>().StartRequest("/api/otlp"))
        {
            await generator.GenerateAsync(["query"]);
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "time?")], new ChatOptions { Tools = [AIFunctionFactory.Create(() => "12:00", "get_time")] });
        }

        Assert.True(host.Services.GetRequiredService<TracerProvider>().ForceFlush());
        var body = receiver.To("/v1/traces").SelectMany(r => r.Body).ToArray();
        foreach (var expected in new[]
        {
            "execute_tool get_time", "gen_ai.tool.name", "gen_ai.tool.call.id", "call-otlp", "gen_ai.tool.type", "function",
            "embeddings text-embedding-3-small", "gen_ai.embeddings.dimension.count", "gen_ai.usage.input_tokens",
            "chat gpt-4o-mini", "gen_ai.operation.name", "llm.request /api/otlp",
        })
        {
            Assert.True(OtlpReceiver.Contains(body, expected), $"the OTLP export lacks {expected}");
        }

        await host.StopAsync();
    }

    [Theory]
    [InlineData("outside")]
    [InlineData("inside")]
    [InlineData("outside the function invocation")]
    public async Task GetResponseAsync_BesideUseOpenTelemetry_OneChatSpanAndNoGenAiSeriesFromLlmApm(string where)
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start(build: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource("Experimental.Microsoft.Extensions.AI")));
        var builder = new FakeChatClient().AsBuilder();
        builder = where switch
        {
            "outside" => builder.UseOpenTelemetry().UseLlmApm(),
            "inside" => builder.UseLlmApm().UseOpenTelemetry(),
            _ => builder.UseOpenTelemetry().UseFunctionInvocation().UseLlmApm(),
        };
        var client = builder.Build(host.Services);

        using (host.Instrumentation.StartRequest("/api/both"))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);
        }

        host.Flush();
        var chat = Assert.Single(host.Exported, a => a.GetTagItem("gen_ai.operation.name") is "chat");
        Assert.Equal("Experimental.Microsoft.Extensions.AI", chat.Source.Name);
        Assert.Single(host.Exported, a => a.DisplayName == "llm_api_call" && a.Source.Name == LlmApmTelemetry.SourceName);
        Assert.Empty(metrics.Of("gen_ai.client.operation.duration"));
        Assert.Empty(metrics.Of("gen_ai.client.token.usage"));
        Assert.Equal(10, metrics.Sum("llm.tokens", ("route", "/api/both"), ("type", "input")));

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal(LlmStepKinds.LlmCall, Assert.Single(record.Steps, s => s.Name == "llm_api_call").Kind);
        Assert.Equal(10, record.Usage.InputTokens);
    }

    private sealed class EmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
            => Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(_ => new Embedding<float>(new float[] { 1, 0 }) { ModelId = "text-embedding-3-small" }))
            {
                Usage = new UsageDetails { InputTokenCount = 1 },
            });

        public object? GetService(Type serviceType, object? serviceKey = null)
            => serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? new EmbeddingGeneratorMetadata("fake", null, "text-embedding-3-small") : null;

        public void Dispose()
        {
        }
    }
}
