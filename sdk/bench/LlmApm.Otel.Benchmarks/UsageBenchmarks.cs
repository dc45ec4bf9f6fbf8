// RESULTS (pasted from the last run; see docs/benchmarks.md)
// Last run: 2026-11-26 23:28-23:32 UTC, AMD EPYC (2 cores, VM), .NET 10.0.12 (SDK 10.0.401), BenchmarkDotNet 0.15.8,
// job: 1 launch, 5 warm-ups, 15 iterations, MemoryDiagnoser; 1-minute load average 0.72 before, 1.00 after (the run
// itself; nothing else ran); the SDK at 7141e7d.
// Command: dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- --filter '*'
//
// | Method                                           | Mean     | StdDev  | P95      | Ratio | Allocated | Alloc Ratio |
// |------------------------------------------------- |---------:|--------:|---------:|------:|----------:|------------:|
// | 'raw Counter.Add x3 + Histogram.Record, TagList' | 249.6 ns | 0.95 ns | 250.9 ns |  1.00 |         - |          NA |
// | 'LlmRequest.RecordUsage + step latency'          | 220.3 ns | 0.88 ns | 221.6 ns |  0.88 |         - |          NA |
//
// Before a3deb67: 1.48x (281.5 vs 190.1 ns). The raw side's cost differs from one benchmark process to the next
// (189-260 ns in nine runs, here 249.6 ns); in runs where it was at its usual ~190-195 ns the ratio was 1.09-1.12x
// (SDK side 212-217 ns). Both sides allocate nothing.

using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using LlmApm.Otel.Testing;

namespace LlmApm.Otel.Benchmarks;

/// <summary>
/// Target 2: recording one LLM call's tokens (in and out) and cost with the request's route and model tags, against
/// the same raw <c>Counter.Add</c> calls with a <see cref="TagList"/> and the cost computed by hand. Both record the
/// call's duration in a histogram with three tags as well (the SDK's <c>llm.step.latency</c> shape), so the raw side
/// does everything a hand-written instrumentation of one call would.
/// </summary>
public class UsageBenchmarks
{
    private static readonly Counter<long> RawTokens = BenchHost.RawMeter.CreateCounter<long>("raw.tokens");
    private static readonly Counter<double> RawCost = BenchHost.RawMeter.CreateCounter<double>("raw.cost");
    private static readonly Histogram<double> RawDuration = BenchHost.RawMeter.CreateHistogram<double>("raw.duration", "s");

    private readonly LlmUsage usage = new(1200, 350);
    private BenchHost host = null!;
    private LlmRequest request = null!;

    [GlobalSetup]
    public void Setup()
    {
        this.host = new BenchHost();

        // Not ambient: the benchmark records on the request object, as UseLlmApm() does.
        this.request = this.host.Instrumentation.StartRequest("/api/chat");
        this.request.Model = FakeChatClient.DefaultModel;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        this.request.Dispose();
        this.host.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw Counter.Add x3 + Histogram.Record, TagList")]
    public decimal Raw()
    {
        const decimal inputPerMillion = 0.15m, outputPerMillion = 0.60m;
        var cost = ((this.usage.InputTokens * inputPerMillion) + (this.usage.OutputTokens * outputPerMillion)) / 1_000_000m;
        RawTokens.Add(this.usage.InputTokens, new TagList { { "route", "/api/chat" }, { "model", FakeChatClient.DefaultModel }, { "type", "input" } });
        RawTokens.Add(this.usage.OutputTokens, new TagList { { "route", "/api/chat" }, { "model", FakeChatClient.DefaultModel }, { "type", "output" } });
        RawCost.Add((double)cost, new TagList { { "route", "/api/chat" }, { "model", FakeChatClient.DefaultModel } });
        RawDuration.Record(0.123, new TagList { { "route", "/api/chat" }, { "step", "llm_api_call" }, { "status", "ok" } });
        return cost;
    }

    [Benchmark(Description = "LlmRequest.RecordUsage + step latency")]
    public decimal? Sdk()
    {
        var cost = this.request.RecordUsage(FakeChatClient.DefaultModel, this.usage);
        LlmApmInstruments.StepLatency.Record(0.123, new TagList { { "route", "/api/chat" }, { "step", "llm_api_call" }, { "status", "ok" } });
        return cost;
    }
}
