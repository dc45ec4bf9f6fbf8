// RESULTS (pasted from the last run; see docs/benchmarks.md)
// Last run: 2026-11-26 23:28-23:32 UTC, AMD EPYC (2 cores, VM), .NET 10.0.12 (SDK 10.0.401), BenchmarkDotNet 0.15.8,
// job: 1 launch, 5 warm-ups, 15 iterations, MemoryDiagnoser; 1-minute load average 0.72 before, 1.00 after (the run
// itself; nothing else ran); the SDK at 7141e7d.
// Command: dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- --filter '*'
//
// | Method                         | Categories | Mean       | StdDev   | P95        | Ratio | Gen0   | Allocated | Alloc Ratio |
// |------------------------------- |----------- |-----------:|---------:|-----------:|------:|-------:|----------:|------------:|
// | UseOpenTelemetry()             | response   |   805.3 ns |  5.27 ns |   812.9 ns |  1.00 | 0.0792 |    1336 B |        1.00 |
// | UseLlmApm()                    | response   |   920.1 ns |  5.43 ns |   928.6 ns |  1.14 | 0.0601 |    1016 B |        0.76 |
// |                                |            |            |          |            |       |        |           |             |
// | 'UseOpenTelemetry() streaming' | streaming  | 1,944.3 ns | 14.29 ns | 1,970.4 ns |  1.00 | 0.1945 |    3312 B |        1.00 |
// | 'UseLlmApm() streaming'        | streaming  | 1,382.9 ns |  8.44 ns | 1,394.6 ns |  0.71 | 0.1087 |    1840 B |        0.56 |
//
// Before this SDK changes (c60cc53): non-streaming 1.52x and 1.19 KB, streaming 0.90x and 1.99 KB. The four
// llm_* measurements of a call (llm.tokens x2, llm.cost.usd, llm.step.latency) measured 164 ns on their own in this
// host, more than UseLlmApm()'s remaining difference (115 ns here).

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.Benchmarks;

/// <summary>
/// Target 3: <c>UseLlmApm()</c> against Microsoft.Extensions.AI's own <c>UseOpenTelemetry()</c>, each wrapping the same
/// no-op <see cref="IChatClient"/>, with both the <c>LlmApm</c> and the Microsoft.Extensions.AI source and meter
/// listened to in both cases. LLM-APM also records cost, the step, the request's usage and (for calls inside a
/// request) the history; the calls run outside a request here, as a bare chat client is used.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ChatClientBenchmarks
{
    private static readonly List<ChatMessage> Messages =
    [
        new(ChatRole.System, "You are a helpful assistant."),
        new(ChatRole.User, "Hello there"),
    ];

    private static readonly ChatOptions Options = new() { ModelId = FakeChatClient.DefaultModel, MaxOutputTokens = 256, Temperature = 0.7f };

    private BenchHost host = null!;
    private IChatClient otel = null!;
    private IChatClient apm = null!;

    [GlobalSetup]
    public void Setup()
    {
        this.host = new BenchHost();
        var inner = new FakeChatClient
        {
            Reply = "Hello! How can I help?",
            Chunks = ["Hello! ", "How can ", "I help?"],
            Usage = new UsageDetails { InputTokenCount = 42, OutputTokenCount = 7, TotalTokenCount = 49 },
            Metadata = new ChatClientMetadata("openai", new Uri("http://127.0.0.1/"), FakeChatClient.DefaultModel),
        };
        this.otel = inner.AsBuilder().UseOpenTelemetry(sourceName: BenchHost.ExtensionsAiName).Build(this.host.Services);
        this.apm = inner.AsBuilder().UseLlmApm().Build(this.host.Services);
    }

    [GlobalCleanup]
    public void Cleanup() => this.host.Dispose();

    [Benchmark(Baseline = true, Description = "UseOpenTelemetry()")]
    [BenchmarkCategory("response")]
    public Task<ChatResponse> OpenTelemetry() => this.otel.GetResponseAsync(Messages, Options);

    [Benchmark(Description = "UseLlmApm()")]
    [BenchmarkCategory("response")]
    public Task<ChatResponse> LlmApm() => this.apm.GetResponseAsync(Messages, Options);

    [Benchmark(Baseline = true, Description = "UseOpenTelemetry() streaming")]
    [BenchmarkCategory("streaming")]
    public Task<int> OpenTelemetryStreaming() => Drain(this.otel);

    [Benchmark(Description = "UseLlmApm() streaming")]
    [BenchmarkCategory("streaming")]
    public Task<int> LlmApmStreaming() => Drain(this.apm);

    private static async Task<int> Drain(IChatClient client)
    {
        var count = 0;
        await foreach (var update in client.GetStreamingResponseAsync(Messages, Options).ConfigureAwait(false))
        {
            count += update.Contents.Count;
        }

        return count;
    }
}
