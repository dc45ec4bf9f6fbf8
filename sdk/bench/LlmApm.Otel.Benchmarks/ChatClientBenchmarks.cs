// RESULTS (pasted from the last run; see docs/benchmarks.md)
// (not run yet)

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
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

    private static readonly ChatOptions Options = new() { ModelId = NoopChatClient.Model, MaxOutputTokens = 256, Temperature = 0.7f };

    private BenchHost host = null!;
    private IChatClient otel = null!;
    private IChatClient apm = null!;

    [GlobalSetup]
    public void Setup()
    {
        this.host = new BenchHost();
        var inner = new NoopChatClient();
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
