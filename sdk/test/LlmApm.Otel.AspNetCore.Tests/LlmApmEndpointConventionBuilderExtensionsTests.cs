using System.Diagnostics;
using System.Net;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LlmApm.Otel.AspNetCore.Tests;

[Collection(ProcessWideTelemetry.Name)]
public class LlmApmEndpointConventionBuilderExtensionsTests
{
    [Fact]
    public async Task WithLlmApm_LlmEndpoint_RecordsOneRequestSpanWithStepsAsChildren()
    {
        await using var app = await TestApp.StartAsync(map: a => a.MapPost("/api/chat", async () =>
        {
            using (LlmStep.Start("preprocessing"))
            {
                await Task.Yield();
            }

            await LlmStep.RunAsync("llm_api_call", ct => Task.Delay(5, ct));
            return TypedResults.Ok(new { reply = "hi" });
        }).WithLlmApm());

        using var response = await app.Client.PostAsync("/api/chat", null);
        response.EnsureSuccessStatusCode();
        await app.WaitForHistoryAsync(1);

        var request = Assert.Single(app.RequestSpans());
        Assert.Equal("llm.request /api/chat", request.DisplayName);
        Assert.Equal("/api/chat", request.GetTagItem(LlmApmTelemetry.Attributes.Route));
        Assert.NotEqual(ActivityStatusCode.Error, request.Status);

        var steps = app.Spans().Where(s => s.GetTagItem(LlmApmTelemetry.Attributes.StepName) is not null).ToList();
        Assert.Equal(["preprocessing", "llm_api_call"], steps.Select(s => (string)s.GetTagItem(LlmApmTelemetry.Attributes.StepName)!));
        Assert.All(steps, s => Assert.Equal(request.SpanId, s.ParentSpanId));

        // The request span is a child of the HTTP server span.
        var server = Assert.Single(app.Spans(), s => s.Source.Name == "Microsoft.AspNetCore");
        Assert.Equal(server.SpanId, request.ParentSpanId);

        var record = Assert.Single(app.Instrumentation.History.Query(new() { Limit = 10 }));
        Assert.Equal("/api/chat", record.Route);
        Assert.Equal("ok", record.Status);
        Assert.Equal(2, record.Steps.Count);
    }

    [Fact]
    public async Task WithLlmApm_NonLlmEndpoint_RecordsNoRequest()
    {
        await using var app = await TestApp.StartAsync(map: a =>
        {
            a.MapGet("/health", () => "ok");
            a.MapPost("/api/chat", () => "hi").WithLlmApm();
        });

        using var response = await app.Client.GetAsync("/health");
        response.EnsureSuccessStatusCode();
        await Task.Delay(100);

        Assert.Empty(app.RequestSpans());
        Assert.Empty(app.Instrumentation.History.Query(new() { Limit = 10 }));
        var metrics = await app.Client.GetStringAsync("/metrics");
        Assert.DoesNotContain("llm_requests_total{", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithLlmApm_StreamedResult_LatencyCoversTheWholeStream()
    {
        // The handler returns at once; the events are produced while the result executes.
        static async IAsyncEnumerable<SseItem<string>> Deltas([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            for (var i = 0; i < 3; i++)
            {
                await Task.Delay(150, cancellationToken);
                using (LlmStep.Start("chunk"))
                {
                    yield return new SseItem<string>("piece " + i, "delta");
                }
            }
        }

        await using var app = await TestApp.StartAsync(map: a => a.MapPost("/api/chat/stream", (CancellationToken ct) =>
            TypedResults.ServerSentEvents(Deltas(ct))).WithLlmApm());

        var stopwatch = Stopwatch.StartNew();
        using var response = await app.Client.PostAsync("/api/chat/stream", null);
        var body = await response.Content.ReadAsStringAsync();
        stopwatch.Stop();
        Assert.Contains("piece 2", body, StringComparison.Ordinal);

        var record = Assert.Single(await app.WaitForHistoryAsync(1));
        Assert.Equal("/api/chat/stream", record.Route);
        Assert.True(record.DurationMs >= 400, $"The request lasted {record.DurationMs} ms, less than its stream.");
        Assert.Equal(3, record.Steps.Count);
        var span = Assert.Single(app.RequestSpans());
        Assert.True(span.Duration >= TimeSpan.FromMilliseconds(400));

        var metrics = await app.Client.GetStringAsync("/metrics");
        var sum = PrometheusText.Value(metrics, "llm_request_latency_seconds_sum", "route=\"/api/chat/stream\"");
        Assert.True(sum >= 0.4, $"llm_request_latency_seconds_sum was {sum}.");
    }

    [Fact]
    public async Task WithLlmApm_LlmEndpoint_MetricsShowLlmSeriesWithTags()
    {
        await using var app = await TestApp.StartAsync(map: a =>
        {
            a.MapPost("/api/chat", () =>
            {
                LlmRequest.Current!.Model = "gpt-4o-mini";
                return "hi";
            }).WithLlmApm();
            a.MapPost("/api/fail", IResult () =>
            {
                LlmRequest.Current!.Model = "gpt-4o-mini";
                throw new InvalidOperationException("boom");
            }).WithLlmApm();
        });

        using (var ok = await app.Client.PostAsync("/api/chat", null))
        {
            ok.EnsureSuccessStatusCode();
        }

        await SendIgnoringServerErrorAsync(app, "/api/fail");
        await app.WaitForHistoryAsync(2);

        var metrics = await app.Client.GetStringAsync("/metrics");
        Assert.Equal(1, PrometheusText.Value(metrics, "llm_requests_total", "route=\"/api/chat\"", "model=\"gpt-4o-mini\"", "status=\"ok\""));
        Assert.Equal(1, PrometheusText.Value(metrics, "llm_requests_total", "route=\"/api/fail\"", "model=\"gpt-4o-mini\"", "status=\"error\""));
        Assert.Equal(1, PrometheusText.Value(metrics, "llm_request_latency_seconds_count", "route=\"/api/chat\"", "model=\"gpt-4o-mini\"", "status=\"ok\""));
        Assert.Equal(0, PrometheusText.Value(metrics, "llm_requests_active", "route=\"/api/chat\""));
    }

    [Fact]
    public async Task WithLlmApm_EndpointThrows_RecordsFailureAndRethrows()
    {
        var escaped = false;
        await using var app = await TestApp.StartAsync(map: a =>
        {
            a.Use(async (context, next) =>
            {
                try
                {
                    await next(context);
                }
                catch (TimeoutException)
                {
                    escaped = true;
                    context.Response.StatusCode = StatusCodes.Status504GatewayTimeout;
                }
            });
            a.MapPost("/api/chat", string () => throw new TimeoutException("slow model")).WithLlmApm();
        });

        using var response = await app.Client.PostAsync("/api/chat", null);

        Assert.True(escaped, "The exception did not reach the host's middleware.");
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var record = Assert.Single(await app.WaitForHistoryAsync(1));
        Assert.Equal("error", record.Status);
        Assert.Equal("timeout", record.ErrorType);
        Assert.Equal(ActivityStatusCode.Error, Assert.Single(app.RequestSpans()).Status);
    }

    [Fact]
    public async Task WithLlmApm_ClientAborts_RecordsCancelled()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(map: a => a.MapPost("/api/chat", async (HttpContext context) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
            return "never";
        }).WithLlmApm());

        using var cts = new CancellationTokenSource();
        var call = app.Client.PostAsync("/api/chat", null, cts.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        var record = Assert.Single(await app.WaitForHistoryAsync(1));
        Assert.Equal("cancelled", record.ErrorType);
    }

    [Fact]
    public async Task WithLlmApm_ServerErrorWithoutException_RecordsError()
    {
        await using var app = await TestApp.StartAsync(map: a =>
            a.MapPost("/api/chat", () => TypedResults.Problem(statusCode: 502)).WithLlmApm());

        using var response = await app.Client.PostAsync("/api/chat", null);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var record = Assert.Single(await app.WaitForHistoryAsync(1));
        Assert.Equal("error", record.Status);
        Assert.Equal("_OTHER", record.ErrorType);
    }

    [Fact]
    public async Task WithLlmApm_RouteGroup_RecordsTheCombinedRouteTemplate()
    {
        await using var app = await TestApp.StartAsync(map: a =>
        {
            var group = a.MapGroup("/api").WithLlmApm();
            group.MapPost("/chat/{conversation}", (string conversation) => conversation);
        });

        using var response = await app.Client.PostAsync("/api/chat/abc", null);
        response.EnsureSuccessStatusCode();

        var record = Assert.Single(await app.WaitForHistoryAsync(1));
        Assert.Equal("/api/chat/{conversation}", record.Route);
    }

    private static async Task SendIgnoringServerErrorAsync(TestApp app, string path)
    {
        try
        {
            using var response = await app.Client.PostAsync(path, null);
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        }
        catch (InvalidOperationException)
        {
            // TestServer may surface the application's exception to the client.
        }
    }
}
