// RESULTS (pasted from the last run; see docs/benchmarks.md)
// Last run: 2026-11-26, AMD EPYC (2 cores, VM), .NET 10.0.12 (SDK 10.0.401), BenchmarkDotNet 0.15.8,
// job: 1 launch, 5 warm-ups, 15 iterations, MemoryDiagnoser; 1-minute load average 0.75 before, 1.00 after (the run itself).
// Command: dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- --filter '*'
//
// | Method                       | Categories      | Mean       | StdDev    | P95        | Ratio | Gen0   | Gen1   | Gen2   | Allocated | Alloc Ratio |
// |----------------------------- |---------------- |-----------:|----------:|-----------:|------:|-------:|-------:|-------:|----------:|------------:|
// | 'raw parent + 4 child spans' | request+4 steps |   798.3 ns |  22.60 ns |   839.8 ns |  1.00 | 0.1202 |      - |      - |    2016 B |        1.00 |
// | 'StartRequest + 4 LlmSteps'  | request+4 steps | 3,082.1 ns | 101.75 ns | 3,238.8 ns |  3.86 | 0.3052 | 0.1297 | 0.0420 |    4456 B |        2.21 |
// |                              |                 |            |           |            |       |        |        |        |           |             |
// | 'raw StartActivity/Stop'     | step            |   145.6 ns |   2.17 ns |   149.0 ns |  1.00 | 0.0248 |      - |      - |     416 B |        1.00 |
// | LlmStep.Start/Dispose        | step            |   221.3 ns |   4.26 ns |   228.8 ns |  1.52 | 0.0334 |      - |      - |     560 B |        1.35 |
//
// | Method                             | Mean     | StdDev    | P95      | Ratio | Allocated | Alloc Ratio |
// |----------------------------------- |---------:|----------:|---------:|------:|----------:|------------:|
// | 'unlistened StartActivity/Stop'    | 1.083 ns | 0.0111 ns | 1.100 ns |  1.00 |         - |          NA |
// | 'unlistened LlmStep.Start/Dispose' | 1.614 ns | 0.0242 ns | 1.657 ns |  1.49 |         - |          NA |

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
