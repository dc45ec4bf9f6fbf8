using System.Diagnostics;
using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests;

/// <summary>A step's state: kept on its span when it has one (failure as status and <c>error.type</c>, end as the
/// stopped span), in a state object of its own when it has none.</summary>
[Collection(ProcessWideTelemetry.Name)]
public class LlmStepStateTests
{
    [Fact]
    public void Dispose_TwiceWithSpan_EndsTheStepOnce()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        using (host.Instrumentation.StartRequest("twice"))
        {
            var step = LlmStep.Start("double-dispose");
            Assert.NotNull(step.Activity);
            step.Dispose();
            Assert.True(step.Activity.IsStopped);
            step.Dispose();
        }

        host.Flush();
        Assert.Single(host.Exported, a => a.DisplayName == "double-dispose");
        var latency = Assert.Single(metrics.Of("llm.step.latency"), m => m.Tag("step") == "double-dispose");
        Assert.Equal("twice", latency.Tag("route"));
        Assert.Equal("ok", latency.Tag("status"));
        Assert.Equal("double-dispose", Assert.Single(Assert.Single(host.History.Query(new LlmHistoryQuery())).Steps).Name);
    }

    [Fact]
    public async Task Dispose_OutsideTheRequestFlow_StepStillInTheRequestHistory()
    {
        using var host = TestHost.Start();
        using (host.Instrumentation.StartRequest("detached"))
        {
            var step = LlmStep.Start("ended-elsewhere");
            Task ending;
            using (ExecutionContext.SuppressFlow())
            {
                // A thread that does not see the request as ambient ends the step.
                ending = Task.Run(() =>
                {
                    Assert.Null(LlmRequest.Current);
                    step.Dispose();
                });
            }

            await ending;
        }

        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("ended-elsewhere", Assert.Single(record.Steps).Name);
    }

    [Fact]
    public void Fail_TwiceWithSpan_FirstErrorTypeStandsOnSpanMetricAndHistory()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        using (host.Instrumentation.StartRequest("failing"))
        {
            using var step = LlmStep.Start("call");
            Assert.Null(step.ErrorType);
            step.Fail(LlmErrorTypes.RateLimited, "slow down");
            step.Fail(LlmErrorTypes.Timeout, "too late");
            Assert.Equal(LlmErrorTypes.RateLimited, step.ErrorType);
        }

        host.Flush();
        var span = Assert.Single(host.Exported, a => a.DisplayName == "call");
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("too late", span.StatusDescription);
        Assert.Equal(LlmErrorTypes.RateLimited, span.GetTagItem("error.type"));
        Assert.Single(span.TagObjects, t => t.Key == "error.type");
        Assert.Equal("error", Assert.Single(metrics.Of("llm.step.latency"), m => m.Tag("step") == "call").Tag("status"));

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal(LlmErrorTypes.RateLimited, record.ErrorType);
        var recorded = Assert.Single(record.Steps);
        Assert.Equal("error", recorded.Status);
        Assert.Equal(LlmErrorTypes.RateLimited, recorded.ErrorType);
    }

    [Fact]
    public void Start_MetricsWithoutSpans_MeasuresFailsAndEndsOnce()
    {
        // No host: nothing traces the LlmApm source, but its metrics are listened to.
        Assert.False(LlmApmInstruments.Source.HasListeners());
        using var metrics = new MetricCollector();
        var step = LlmStep.Start("metrics-only");
        Assert.Null(step.Activity);
        Assert.NotEqual(default, step);
        Assert.Equal(step, step);
        Assert.NotEqual(step, LlmStep.Start("another"));

        step.Fail(LlmErrorTypes.Timeout, "too late");
        step.Fail(LlmErrorTypes.Network);
        Assert.Equal(LlmErrorTypes.Timeout, step.ErrorType);
        step.Dispose();
        step.Dispose();

        var latency = Assert.Single(metrics.Of("llm.step.latency"), m => m.Tag("step") == "metrics-only");
        Assert.Equal("none", latency.Tag("route"));
        Assert.Equal("error", latency.Tag("status"));
        Assert.True(latency.Value >= 0);
        Assert.Equal(2, metrics.Of("llm.errors").Count(m => m.Tag("step") == "metrics-only"));
    }

    [Fact]
    public void Start_WithSpan_EqualityIsTheSpan()
    {
        using var host = TestHost.Start();
        using var first = LlmStep.Start("one");
        using var second = LlmStep.Start("two");
        var copy = first;
        Assert.Equal(first, copy);
        Assert.True(first == copy);
        Assert.NotEqual(first, second);
        Assert.Equal(first.GetHashCode(), copy.GetHashCode());
        Assert.NotEqual(default, first);
    }
}
