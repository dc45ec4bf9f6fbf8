// RESULTS (pasted from the last run; see docs/benchmarks.md)
// (not run yet)

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
