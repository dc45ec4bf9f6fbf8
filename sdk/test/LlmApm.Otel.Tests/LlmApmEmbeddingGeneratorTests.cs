using System.Diagnostics;
using LlmApm.Otel.History;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.Tests;

/// <summary><c>UseLlmApm()</c> on an embedding generator: the conventions' <c>embeddings</c> span, tokens, cost from
/// the shipped price list, the GenAI client metrics and an embedding step in the history.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class LlmApmEmbeddingGeneratorTests
{
    private const string Model = "text-embedding-3-small";

    [Fact]
    public async Task GenerateAsync_ProviderUsage_SpanMetricsCostAndEmbeddingStep()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var generator = new FakeEmbeddingGenerator { InputTokens = 8 }.AsBuilder().UseLlmApm().Build(host.Services);

        using (host.Instrumentation.StartRequest("/api/search"))
        {
            var embeddings = await generator.GenerateAsync(["first document", "second document"]);
            Assert.Equal(2, embeddings.Count);
        }

        host.Flush();
        var span = Assert.Single(host.Exported, a => a.DisplayName == "embeddings text-embedding-3-small");
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("embeddings", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("fake", span.GetTagItem("gen_ai.provider.name"));
        Assert.Equal(Model, span.GetTagItem("gen_ai.request.model"));
        Assert.Equal(3, span.GetTagItem("gen_ai.embeddings.dimension.count"));
        Assert.Equal(8L, span.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal("embeddings.example.test", span.GetTagItem("server.address"));
        Assert.Equal(8443, span.GetTagItem("server.port"));
        Assert.Null(span.GetTagItem("llm.usage.estimated"));
        Assert.Equal("openai/text-embedding-3-small@2025-08", span.GetTagItem("llm.price")); // provider 'fake': the model's first entry

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        var step = Assert.Single(record.Steps);
        Assert.Equal(("embedding_call", LlmStepKinds.Embedding, "ok"), (step.Name, step.Kind, step.Status));
        Assert.Equal(8, record.Usage.InputTokens);
        Assert.False(record.Usage.Estimated);
        Assert.Equal(8 * 0.02m / 1_000_000m, record.CostUsd);
        Assert.False(record.Unpriced);

        var duration = Assert.Single(metrics.Of("gen_ai.client.operation.duration"));
        Assert.Equal(("embeddings", "fake", Model), (duration.Tag("gen_ai.operation.name"), duration.Tag("gen_ai.provider.name"), duration.Tag("gen_ai.request.model")));
        var tokens = Assert.Single(metrics.Of("gen_ai.client.token.usage"));
        Assert.Equal((8d, "input"), (tokens.Value, tokens.Tag("gen_ai.token.type")));
        Assert.Equal(8, metrics.Sum("llm.tokens", ("route", "/api/search"), ("model", Model), ("type", "input")));
        Assert.Single(metrics.Of("llm.cost.usd"), m => m.Tag("model") == Model);
    }

    [Fact]
    public async Task GenerateAsync_NoProviderUsage_EstimatesAndFlagsWithoutGenAiTokenUsage()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var generator = new FakeEmbeddingGenerator { InputTokens = null }.AsBuilder().UseLlmApm().Build(host.Services);

        using (host.Instrumentation.StartRequest("/api/search"))
        {
            await generator.GenerateAsync(["a sentence of several words to count"]);
        }

        host.Flush();
        var span = Assert.Single(host.Exported, a => a.DisplayName == "embeddings text-embedding-3-small");
        Assert.Equal(true, span.GetTagItem("llm.usage.estimated"));
        Assert.True((long)span.GetTagItem("gen_ai.usage.input_tokens")! > 0);
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.True(record.Usage.Estimated);
        Assert.True(record.Usage.InputTokens > 0);
        Assert.Empty(metrics.Of("gen_ai.client.token.usage"));
        Assert.True(metrics.Sum("llm.tokens", ("route", "/api/search"), ("type", "input")) > 0);
    }

    [Fact]
    public async Task GenerateAsync_ProviderFails_ClassifiedFailedStep()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var generator = new FakeEmbeddingGenerator { Failure = new TimeoutException("slow") }.AsBuilder().UseLlmApm().Build(host.Services);

        using (host.Instrumentation.StartRequest("/api/search"))
        {
            await Assert.ThrowsAsync<TimeoutException>(() => generator.GenerateAsync(["text"]));
        }

        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        var step = Assert.Single(record.Steps);
        Assert.Equal((LlmStepKinds.Embedding, "error", LlmErrorTypes.Timeout), (step.Kind, step.Status, step.ErrorType));
        Assert.Equal("error", record.Status);
        Assert.Equal(LlmErrorTypes.Timeout, Assert.Single(metrics.Of("gen_ai.client.operation.duration")).Tag("error.type"));
    }

    [Fact]
    public async Task GenerateAsync_BesideUseOpenTelemetry_NoSecondEmbeddingsSpanOrGenAiSeries()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var generator = new FakeEmbeddingGenerator { InputTokens = 8 }.AsBuilder().UseLlmApm().UseOpenTelemetry().Build(host.Services);

        using (host.Instrumentation.StartRequest("/api/search"))
        {
            await generator.GenerateAsync(["text"]);
        }

        host.Flush();
        Assert.DoesNotContain(host.Exported, a => a.GetTagItem("gen_ai.operation.name") is not null);
        Assert.Single(host.Exported, a => a.DisplayName == "embedding_call");
        Assert.Empty(metrics.Of("gen_ai.client.operation.duration"));
        Assert.Equal(LlmStepKinds.Embedding, Assert.Single(Assert.Single(host.History.Query(new LlmHistoryQuery())).Steps).Kind);
        Assert.Equal(8, metrics.Sum("llm.tokens", ("route", "/api/search"), ("type", "input")));
    }

    /// <summary>An embedding provider in process: three dimensions per value, with or without reported usage.</summary>
    private sealed class FakeEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        public long? InputTokens { get; init; }

        public Exception? Failure { get; init; }

        public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            if (this.Failure is not null)
            {
                throw this.Failure;
            }

            return new GeneratedEmbeddings<Embedding<float>>(values.Select(v => new Embedding<float>(new float[] { v.Length, 1, 0 }) { ModelId = Model }))
            {
                Usage = this.InputTokens is { } tokens ? new UsageDetails { InputTokenCount = tokens } : null,
            };
        }

        public object? GetService(Type serviceType, object? serviceKey = null)
            => serviceKey is not null ? null
                : serviceType == typeof(EmbeddingGeneratorMetadata) ? new EmbeddingGeneratorMetadata("fake", new Uri("https://embeddings.example.test:8443/v1"), Model)
                : serviceType.IsInstanceOfType(this) ? this
                : null;

        public void Dispose()
        {
        }
    }
}
