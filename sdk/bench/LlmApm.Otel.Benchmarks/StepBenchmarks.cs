// RESULTS (pasted from the last run; see docs/benchmarks.md)
// Last run: 2026-11-26, AMD EPYC (2 cores, VM), .NET 10.0.12 (SDK 10.0.401), BenchmarkDotNet 0.15.8,
// job: 1 launch, 5 warm-ups, 15 iterations, MemoryDiagnoser; 1-minute load average 1.70 before (other builds on the
// machine), 1.02 after (the run itself); the SDK at 16e8bf4.
// Command: dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- --filter '*Step*' '*Usage*' '*ChatClient*'
//
// | Method                       | Categories      | Mean       | StdDev   | P95        | Ratio | Gen0   | Allocated | Alloc Ratio |
// |----------------------------- |---------------- |-----------:|---------:|-----------:|------:|-------:|----------:|------------:|
// | 'raw parent + 4 child spans' | request+4 steps |   869.4 ns |  6.66 ns |   878.8 ns |  1.00 | 0.1202 |    2016 B |        1.00 |
// | 'StartRequest + 4 LlmSteps'  | request+4 steps | 2,439.1 ns | 23.58 ns | 2,465.0 ns |  2.81 | 0.2289 |    3840 B |        1.90 |
// |                              |                 |            |          |            |       |        |           |             |
// | 'raw StartActivity/Stop'     | step            |   159.3 ns |  0.68 ns |   160.4 ns |  1.00 | 0.0248 |     416 B |        1.00 |
// | LlmStep.Start/Dispose        | step            |   229.4 ns |  1.43 ns |   231.5 ns |  1.44 | 0.0296 |     496 B |        1.19 |
//
// | Method                             | Mean     | StdDev    | P95      | Ratio | Allocated | Alloc Ratio |
// |----------------------------------- |---------:|----------:|---------:|------:|----------:|------------:|
// | 'unlistened StartActivity/Stop'    | 1.257 ns | 0.0108 ns | 1.271 ns |  1.00 |         - |          NA |
// | 'unlistened LlmStep.Start/Dispose' | 1.478 ns | 0.0154 ns | 1.499 ns |  1.18 |         - |          NA |
//
// Before ffcf799 and 16e8bf4 (192d268, the run just before this one): listened 1.56x and 560 B, unlistened 1.40x,
// request + 4 steps 2.76x and 4,096 B. The listened step is at its floor: in a one-off comparison run a raw span with the
// llm.step.name tag and one llm.step.latency Record measured 222.4 ns against 221.5 ns for the step (raw span
// 153.0 ns; the tag +17 ns and 80 B, the histogram +55 ns).

using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace LlmApm.Otel.Benchmarks;

/// <summary>
/// Target 1, listened: one step with the SDK's listener, history processor and metrics on, against a raw
/// <c>ActivitySource.StartActivity</c>/<c>Stop</c> with one no-op processor, in the same process and providers.
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class StepBenchmarks
{
    private BenchHost host = null!;

    [GlobalSetup]
    public void Setup() => this.host = new BenchHost();

    [GlobalCleanup]
    public void Cleanup() => this.host.Dispose();

    [Benchmark(Baseline = true, Description = "raw StartActivity/Stop")]
    [BenchmarkCategory("step")]
    public void RawActivity()
    {
        using var activity = BenchHost.RawSource.StartActivity("preprocessing");
    }

    [Benchmark(Description = "LlmStep.Start/Dispose")]
    [BenchmarkCategory("step")]
    public void Step()
    {
        using var step = LlmStep.Start("preprocessing");
    }

    /// <summary>A whole request with four steps against a raw parent span with four children: what the history
    /// sees per request (the steps are buffered on the request and become its record).</summary>
    [Benchmark(Baseline = true, Description = "raw parent + 4 child spans")]
    [BenchmarkCategory("request+4 steps")]
    public void RawRequest()
    {
        using var parent = BenchHost.RawSource.StartActivity("llm.request /api/chat");
        using (BenchHost.RawSource.StartActivity("preprocessing"))
        {
        }

        using (BenchHost.RawSource.StartActivity("llm_api_call"))
        {
        }

        using (BenchHost.RawSource.StartActivity("response_parsing"))
        {
        }

        using (BenchHost.RawSource.StartActivity("saving"))
        {
        }
    }

    [Benchmark(Description = "StartRequest + 4 LlmSteps")]
    [BenchmarkCategory("request+4 steps")]
    public void Request()
    {
        using var request = this.host.Instrumentation.StartRequest("/api/chat");
        using (LlmStep.Start("preprocessing"))
        {
        }

        using (LlmStep.Start("llm_api_call"))
        {
        }

        using (LlmStep.Start("response_parsing"))
        {
        }

        using (LlmStep.Start("saving"))
        {
        }
    }
}

/// <summary>
/// Target 1, unlistened: no tracer provider, no meter provider, no LLM-APM listener and no request. A step against
/// an unlistened <c>StartActivity</c> (which returns <c>null</c>).
/// </summary>
public class StepUnlistenedBenchmarks
{
    [GlobalSetup]
    public void Setup()
    {
        if (BenchHost.RawSource.HasListeners() || LlmApmInstruments.Source.HasListeners() || LlmApmInstruments.StepLatency.Enabled)
        {
            throw new InvalidOperationException("Something listens: this benchmark needs a process without listeners.");
        }
    }

    [Benchmark(Baseline = true, Description = "unlistened StartActivity/Stop")]
    public void RawActivity()
    {
        using var activity = BenchHost.RawSource.StartActivity("preprocessing");
    }

    [Benchmark(Description = "unlistened LlmStep.Start/Dispose")]
    public void Step()
    {
        using var step = LlmStep.Start("preprocessing");
    }
}
