using System.Diagnostics;
using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests;

[Collection(ProcessWideTelemetry.Name)] // one test asserts that nothing in the process listens to the source
public class LlmStepTests
{
    [Fact]
    public async Task Start_NestedSteps_AreChildSpansWithDepthInHistory()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        using (host.Instrumentation.StartRequest("nested"))
        {
            using (LlmStep.Start("outer"))
            {
                await Task.Delay(2);
                using (LlmStep.Start("inner"))
                {
                    await Task.Delay(2);
                }
            }
        }

        host.Flush();
        var request = Assert.Single(host.Exported, a => a.DisplayName == "llm.request nested");
        var outer = Assert.Single(host.Exported, a => a.DisplayName == "outer");
        var inner = Assert.Single(host.Exported, a => a.DisplayName == "inner");
        Assert.Equal(request.SpanId, outer.ParentSpanId);
        Assert.Equal(outer.SpanId, inner.ParentSpanId);
        Assert.Equal("inner", inner.GetTagItem("llm.step.name"));

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal([("outer", 0, LlmStepKinds.Step), ("inner", 1, LlmStepKinds.Step)], record.Steps.Select(s => (s.Name, s.Depth, s.Kind)));
        var outerStep = record.Steps[0];
        var innerStep = record.Steps[1];
        Assert.True(innerStep.OffsetMs >= outerStep.OffsetMs);
        Assert.True(innerStep.OffsetMs + innerStep.DurationMs <= outerStep.OffsetMs + outerStep.DurationMs + 0.001);
        Assert.True(outerStep.DurationMs <= record.DurationMs);

        Assert.Single(metrics.Of("llm.step.latency"), m => m.Tag("step") == "inner" && m.Tag("route") == "nested" && m.Tag("status") == "ok");
    }

    [Fact]
    public async Task RunAsync_ExceptionEscapes_MarksStepAndRequestFailedAndRethrowsSameInstance()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var boom = new HttpRequestException("no route to host");
        Exception? caught = null;
        using (host.Instrumentation.StartRequest("failing-step"))
        {
            try
            {
                await LlmStep.RunAsync("outer", async ct =>
                {
                    await LlmStep.RunAsync("llm", _ => Task.FromException(boom), ct);
                });
            }
            catch (Exception ex)
            {
                caught = ex;
            }
        }

        Assert.Same(boom, caught);
        host.Flush();
        var llm = Assert.Single(host.Exported, a => a.DisplayName == "llm");
        Assert.Equal(ActivityStatusCode.Error, llm.Status);
        Assert.Equal("network", llm.GetTagItem("error.type"));
        Assert.Contains(llm.Events, e => e.Name == "exception" && (string?)e.Tags.First(t => t.Key == "exception.type").Value == typeof(HttpRequestException).FullName);
        var outer = Assert.Single(host.Exported, a => a.DisplayName == "outer");
        Assert.Equal(ActivityStatusCode.Error, outer.Status);
        var request = Assert.Single(host.Exported, a => a.DisplayName == "llm.request failing-step");
        Assert.Equal(ActivityStatusCode.Error, request.Status);

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("error", record.Status);
        Assert.Equal("network", record.ErrorType);
        Assert.All(record.Steps, s => Assert.Equal("error", s.Status));

        // The exception passed through two steps and the request: it is one error.
        var errors = Assert.Single(metrics.Of("llm.errors"), m => m.Tag("route") == "failing-step");
        Assert.Equal("llm", errors.Tag("step"));
        Assert.Equal("network", errors.Tag("error_type"));
        Assert.Single(metrics.Of("llm.step.latency"), m => m.Tag("step") == "llm" && m.Tag("status") == "error");
    }

    [Fact]
    public void Fail_InExceptionFilter_RecordsWithoutCatching()
    {
        using var host = TestHost.Start();
        var boom = new InvalidOperationException("bad");
        var thrown = Assert.Throws<InvalidOperationException>(() =>
        {
            using var request = host.Instrumentation.StartRequest("filter");
            using var step = LlmStep.Start("parse");
            try
            {
                throw boom;
            }
            catch (Exception ex) when (step.Fail(ex))
            {
                Assert.Fail("The filter must not catch.");
            }
        });

        Assert.Same(boom, thrown);
        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("_OTHER", record.ErrorType);
        Assert.Equal("error", Assert.Single(record.Steps).Status);
    }

    [Fact]
    public void Start_NothingListening_ReturnsInertStep()
    {
        // No host, no listener, no request: the step is the default value and allocates nothing.
        using var step = LlmStep.Start("idle");
        Assert.Null(step.Activity);
        Assert.Equal(default, step);
    }

    [Fact]
    public void Start_WithoutRequest_IsAFreeStandingSpanAndMetric()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        using (LlmStep.Start("standalone"))
        {
        }

        host.Flush();
        Assert.Single(host.Exported, a => a.DisplayName == "standalone");
        Assert.Single(metrics.Of("llm.step.latency"), m => m.Tag("step") == "standalone" && m.Tag("route") == "none");
    }
}
