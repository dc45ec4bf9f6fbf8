using System.Diagnostics;
using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests;

[Collection(ProcessWideTelemetry.Name)]
public class LlmRequestTests
{
    [Fact]
    public async Task Current_FlowsAcrossAwaitAndIsRestoredAfterDispose()
    {
        using var host = TestHost.Start();
        Assert.Null(LlmRequest.Current);
        using (var request = host.Instrumentation.StartRequest("flow"))
        {
            await Task.Delay(1);
            await Task.Run(() => Assert.Same(request, LlmRequest.Current));
            Assert.Same(request, LlmRequest.Current);
        }

        Assert.Null(LlmRequest.Current);
    }

    [Fact]
    public async Task StartRequest_HundredConcurrentRequests_NeverMixStepsUsageOrCost()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start(o => o.HistoryCapacity = 1000);
        var instrumentation = host.Instrumentation;

        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            using var request = instrumentation.StartRequest("concurrent", conversationId: $"c{i}");
            request.Model = "gpt-4o-mini";
            using (LlmStep.Start($"step-{i % 5}"))
            {
                await Task.Delay(Random.Shared.Next(0, 5));
            }

            await LlmStep.RunAsync("work", async ct =>
            {
                await Task.Delay(Random.Shared.Next(0, 5), ct);
                instrumentation.RecordUsage(LlmRequest.Current, "gpt-4o-mini", new LlmUsage(1000 + i, i));
            });
        })));

        host.Flush();
        var records = host.History.Query(new LlmHistoryQuery { Limit = 500 });
        Assert.Equal(100, records.Count);
        foreach (var record in records)
        {
            var i = int.Parse(record.ConversationId!.AsSpan(1), provider: null);
            Assert.Equal(1000 + i, record.Usage.InputTokens);
            Assert.Equal(i, record.Usage.OutputTokens);
            Assert.Equal([$"step-{i % 5}", "work"], record.Steps.Select(s => s.Name));
            var expected = LlmPriceTable.ComputeCost(new LlmModelPrice { InputPerMillion = 0.15m, CachedInputPerMillion = 0.075m, OutputPerMillion = 0.60m }, 1000 + i, 0, i);
            Assert.Equal(expected, record.CostUsd);
        }

        Assert.Equal(100, metrics.Sum("llm.requests", ("route", "concurrent")));
        Assert.Equal(0, metrics.Sum("llm.requests.active", ("route", "concurrent")));
        Assert.Equal(records.Sum(r => r.Usage.InputTokens), metrics.Sum("llm.tokens", ("route", "concurrent"), ("type", "input")));
    }

    [Fact]
    public void Dispose_RecordsRequestSpanAttributesAndMetrics()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        using (var request = host.Instrumentation.StartRequest("/api/chat", conversationId: "conv-1"))
        {
            request.Model = "gpt-4o-2024-08-06";
            host.Instrumentation.RecordUsage(request, request.Model, new LlmUsage(2_000_000, 1_000_000, CachedInputTokens: 1_000_000));
        }

        host.Flush();
        var span = Assert.Single(host.Exported, a => a.DisplayName == "llm.request /api/chat");
        Assert.Equal("/api/chat", span.GetTagItem("llm.route"));
        Assert.Equal("conv-1", span.GetTagItem("gen_ai.conversation.id"));
        Assert.Equal(2_000_000L, span.GetTagItem("llm.usage.input_tokens"));
        Assert.Equal(1_000_000L, span.GetTagItem("llm.usage.output_tokens"));

        // gpt-4o: 1M uncached input at 2.50, 1M cached at 1.25, 1M output at 10.00.
        Assert.Equal(13.75, (double)span.GetTagItem("llm.cost.usd")!, 10);
        Assert.Equal(32, ((string)span.GetTagItem("llm.request.id")!).Length);

        var requests = Assert.Single(metrics.Of("llm.requests"), m => m.Tag("route") == "/api/chat");
        Assert.Equal("gpt-4o", requests.Tag("model"));
        Assert.Equal("ok", requests.Tag("status"));
        Assert.Single(metrics.Of("llm.request.latency"), m => m.Tag("route") == "/api/chat");
        Assert.Equal(13.75, metrics.Sum("llm.cost.usd", ("route", "/api/chat"), ("model", "gpt-4o")), 10);
        Assert.Equal(1_000_000, metrics.Sum("llm.tokens", ("route", "/api/chat"), ("type", "cached_input")));
    }

    [Fact]
    public void Fail_WithException_MarksRequestErrorAndCountsOnce()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var boom = new TimeoutException("slow");
        using (var request = host.Instrumentation.StartRequest("failing"))
        {
            request.Fail(boom);
            request.Fail(boom);
        }

        host.Flush();
        var span = Assert.Single(host.Exported, a => a.DisplayName == "llm.request failing");
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("timeout", span.GetTagItem("error.type"));
        Assert.Contains(span.Events, e => e.Name == "exception");
        Assert.Equal(1, metrics.Sum("llm.errors", ("route", "failing"), ("error_type", "timeout")));
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery { Status = "error" }));
        Assert.Equal("timeout", record.ErrorType);
    }

    [Fact]
    public void FailWithType_AfterAStepFailed_KeepsFirstErrorAndCountsOnce()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        using (var request = host.Instrumentation.StartRequest("aborted"))
        {
            using (var step = LlmStep.Start("llm_api_call"))
            {
                step.Fail(new OperationCanceledException(), new CancellationToken(canceled: true));
            }

            request.Fail(LlmErrorTypes.Cancelled, "The client went away.");
            request.Fail(LlmErrorTypes.Other);
            Assert.Equal(LlmErrorTypes.Cancelled, request.ErrorType);
        }

        Assert.Equal(1, metrics.Sum("llm.errors", ("route", "aborted")));
        Assert.Equal("llm_api_call", Assert.Single(metrics.Of("llm.errors"), m => m.Tag("route") == "aborted").Tag("step"));
    }

    [Fact]
    public async Task Recover_AfterAFailedAttemptThenSuccess_EndsOkAndKeepsTheStepError()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        using (var request = host.Instrumentation.StartRequest("retried"))
        {
            await Assert.ThrowsAsync<TimeoutException>(() => LlmStep.RunAsync("attempt", _ => Task.FromException(new TimeoutException())));
            Assert.Equal(LlmErrorTypes.Timeout, request.ErrorType);
            request.Recover();
            await LlmStep.RunAsync("attempt", _ => Task.CompletedTask);
        }

        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("ok", record.Status);
        Assert.Null(record.ErrorType);
        Assert.Equal(["error", "ok"], record.Steps.Select(s => s.Status));
        Assert.Equal(1, metrics.Sum("llm.errors", ("route", "retried"), ("step", "attempt")));
        Assert.Equal(1, metrics.Sum("llm.requests", ("route", "retried"), ("status", "ok")));
    }

    [Fact]
    public void RecordUsage_PublicApiWithoutChatClient_AddsTokensAndReturnsCost()
    {
        using var host = TestHost.Start();
        using (var request = host.Instrumentation.StartRequest("manual"))
        {
            var cost = request.RecordUsage("gpt-4o", new LlmUsage(1_000_000, 0));
            Assert.Equal(2.50m, cost);
            Assert.Equal("gpt-4o", request.Model);
            Assert.Equal(1_000_000, request.Usage.InputTokens);
        }
    }

    [Fact]
    public void RecordUsage_UnpricedModel_CountsPriceMissAndMarksRequestUnpriced()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        using (var request = host.Instrumentation.StartRequest("unpriced"))
        {
            host.Instrumentation.RecordUsage(request, "my-private-model", new LlmUsage(100, 10));
            Assert.Null(request.CostUsd);
            Assert.True(request.Unpriced);
        }

        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.True(record.Unpriced);
        Assert.Null(record.CostUsd);
        Assert.Equal(1, metrics.Sum("llm.price.misses", ("model", "my-private-model")));
        Assert.DoesNotContain(metrics.Of("llm.cost.usd"), m => m.Tag("route") == "unpriced");
        Assert.Equal(100, metrics.Sum("llm.tokens", ("route", "unpriced"), ("model", "other"), ("type", "input")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void History_SpansNotSampledForExport_StillRecordsEveryRequest(bool unsampledParent)
    {
        // Either the sampler keeps nothing, or the default ParentBased sampler follows an unsampled parent: ASP.NET Core
        // starts an activity of its own for log correlation, unsampled, when no instrumentation listens.
        using var host = unsampledParent ? TestHost.Start() : TestHost.Start(sampler: new OpenTelemetry.Trace.AlwaysOffSampler());
        for (var i = 0; i < 3; i++)
        {
            using var parent = unsampledParent ? new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").Start() : null;
            Assert.False(parent?.Recorded ?? false);
            using var request = host.Instrumentation.StartRequest("/api/chat");
            using (LlmStep.Start("preprocessing"))
            {
            }
        }

        host.Flush();
        Assert.Empty(host.Exported);
        var records = host.History.Query(new LlmHistoryQuery());
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal("preprocessing", Assert.Single(r.Steps).Name));
    }

    [Fact]
    public void History_RequestSpanThatNeverEnds_IsReleasedOnceOlderThanTheOrphanTimeout()
    {
        // Export sampled off: the in-memory exporter would otherwise hold the ended steps, and through them their parent.
        using var host = TestHost.Start(o => o.OrphanTimeout = TimeSpan.FromMilliseconds(1), sampler: new OpenTelemetry.Trace.AlwaysOffSampler());
        var weak = StartOrphan(host.Instrumentation);

        // Entries are swept when a request starts at least a second after the last sweep.
        Thread.Sleep(TimeSpan.FromSeconds(1.2));
        using (host.Instrumentation.StartRequest("after"))
        {
        }

        for (var i = 0; i < 5 && weak.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(weak.IsAlive, "An orphan request and its buffered steps must be released once older than the orphan timeout.");
        Assert.Equal(0, host.Instrumentation.OpenRequests!.Count);
    }

    [Fact]
    public void History_RequestSpanThatNeverEnds_IsHeldUntilItsOrphanTimeout()
    {
        using var host = TestHost.Start(sampler: new OpenTelemetry.Trace.AlwaysOffSampler());
        StartOrphan(host.Instrumentation);

        // Default timeout (minutes): a sweep now keeps the entry, whose span may still end.
        Assert.Equal(0, host.Instrumentation.OpenRequests!.Sweep());
        Assert.Equal(1, host.Instrumentation.OpenRequests.Count);
    }

    [Fact]
    public void History_RequestOlderThanOrphanTimeout_DropsItsBufferedSteps()
    {
        using var host = TestHost.Start(o => o.OrphanTimeout = TimeSpan.FromMilliseconds(1));
        using (var request = host.Instrumentation.StartRequest("orphan"))
        {
            Thread.Sleep(20);
            using (LlmStep.Start("late"))
            {
            }
        }

        host.Flush();
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Empty(record.Steps);
    }

    [Fact]
    public void History_StepsEndedOnOtherThreadsWithoutTheFlow_AreInTheirRequestsRecord()
    {
        using var host = TestHost.Start();
        using (var request = host.Instrumentation.StartRequest("handoff"))
        {
            using (var nested = host.Instrumentation.StartRequest("inner"))
            {
                var inner = LlmStep.Start("inner-step");
                EndElsewhere(inner);
            }

            var outer = LlmStep.Start("outer-step");
            EndElsewhere(outer);
        }

        // Each step went to the request whose span is its nearest open ancestor, though no ambient request was there.
        var records = host.History.Query(new LlmHistoryQuery());
        Assert.Equal(["inner-step"], records.Single(r => r.Route == "inner").Steps.Select(s => s.Name));
        Assert.Equal(["outer-step"], records.Single(r => r.Route == "handoff").Steps.Select(s => s.Name));

        static void EndElsewhere(LlmStep step)
        {
            using (ExecutionContext.SuppressFlow())
            {
                var thread = new Thread(() =>
                {
                    Assert.Null(LlmRequest.Current);
                    step.Dispose();
                });
                thread.Start();
                thread.Join();
            }
        }
    }

    [Fact]
    public void History_StepEndedWhileAnotherRequestIsAmbient_IsInItsOwnRequestsRecord()
    {
        // The processor finds a step's request through the ambient request only when that request's span is the step's
        // ancestor; here the step ends where another request is ambient, and still goes to its own.
        using var host = TestHost.Start();
        using (host.Instrumentation.StartRequest("outer"))
        {
            var step = LlmStep.Start("outer-step");
            using (ExecutionContext.SuppressFlow())
            {
                var thread = new Thread(() =>
                {
                    using var inner = host.Instrumentation.StartRequest("inner");
                    using (LlmStep.Start("inner-step"))
                    {
                    }

                    Assert.Same(inner, LlmRequest.Current);
                    step.Dispose();
                });
                thread.Start();
                thread.Join();
            }
        }

        var records = host.History.Query(new LlmHistoryQuery());
        Assert.Equal(["outer-step"], records.Single(r => r.Route == "outer").Steps.Select(s => s.Name));
        Assert.Equal(["inner-step"], records.Single(r => r.Route == "inner").Steps.Select(s => s.Name));
    }

    [Fact]
    public void History_TwoHostsInOneProcess_EachStepIsInItsRequestsRecordOnce()
    {
        // Both hosts' processors see every span of LLM-APM's source: only the request's own host may add its steps.
        using var first = TestHost.Start();
        using var second = TestHost.Start();
        using (first.Instrumentation.StartRequest("first-host"))
        {
            using (LlmStep.Start("outer"))
            {
                using (LlmStep.Start("inner"))
                {
                }
            }
        }

        var record = Assert.Single(first.History.Query(new LlmHistoryQuery()));
        Assert.Equal(["outer", "inner"], record.Steps.Select(s => s.Name));
        Assert.Empty(second.History.Query(new LlmHistoryQuery()));
    }

    [Fact]
    public async Task History_StepEndingAfterItsRequestInTheRequestsOwnFlow_IsNotAddedToTheRecord()
    {
        // A task started by the request keeps the request ambient after it ended: its late step must not reach the
        // record already written, nor fail.
        using var host = TestHost.Start();
        var started = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        Task late;
        using (host.Instrumentation.StartRequest("late"))
        {
            using (LlmStep.Start("in-time"))
            {
            }

            late = Task.Run(async () =>
            {
                var step = LlmStep.Start("too-late");
                started.SetResult();
                await release.Task;
                step.Dispose();
            });
            await started.Task;
        }

        release.SetResult();
        await late;
        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal(["in-time"], record.Steps.Select(s => s.Name));
        Assert.Equal(0, host.Instrumentation.OpenRequests!.Count);
    }

    [Fact]
    public void Dispose_RequestSpan_StartsAtTheRequestsStartAndLastsItsRecordedLatency()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        Activity span;
        DateTimeOffset start;
        using (var request = host.Instrumentation.StartRequest("timed"))
        {
            span = request.Activity!;
            start = request.StartTime;
            Thread.Sleep(5);
        }

        var latency = Assert.Single(metrics.Of("llm.request.latency"), m => m.Tag("route") == "timed");
        Assert.Equal(span.StartTimeUtc, start.UtcDateTime);
        Assert.Equal(TimeSpan.Zero, start.Offset);
        Assert.Equal(latency.Value, span.Duration.TotalSeconds);
        Assert.True(span.Duration >= TimeSpan.FromMilliseconds(5), $"{span.Duration}");
        Assert.Equal(span.Duration.TotalMilliseconds, Assert.Single(host.History.Query(new LlmHistoryQuery())).DurationMs);
    }

    private static WeakReference StartOrphan(LlmApmInstrumentation instrumentation)
    {
        WeakReference weak = null!;

        // Run on a separate flow so that the ambient request dies with it.
        var thread = new Thread(() =>
        {
            var request = instrumentation.StartRequest("never-ends");
            for (var i = 0; i < 10; i++)
            {
                using (LlmStep.Start("step"))
                {
                }
            }

            weak = new WeakReference(request);
        });
        thread.Start();
        thread.Join();
        Activity.Current = null;
        return weak;
    }
}
