using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using LlmApm.Otel.AspNetCore.Implementation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>The history API of docs/api.md, its errors, the live stream, the OpenAPI document and /metrics.</summary>
[Collection(ProcessWideTelemetry.Name)]
public class LlmApmEndpointRouteBuilderExtensionsTests(ITestOutputHelper testOutput)
{
    [Fact]
    public async Task MapLlmApm_Info_ReturnsServiceAndNoChatByDefault()
    {
        await using var app = await TestApp.StartAsync();

        using var json = await GetJsonAsync(app, "/llm-apm/api/info");
        var root = json.RootElement;

        Assert.False(string.IsNullOrEmpty(root.GetProperty("serviceName").GetString()));
        Assert.True(root.TryGetProperty("serviceVersion", out _));
        Assert.StartsWith("0.", root.GetProperty("sdkVersion").GetString(), StringComparison.Ordinal);
        Assert.False(root.GetProperty("contentCapture").GetBoolean());
        Assert.Equal(10_000, root.GetProperty("historyCapacity").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("chat").ValueKind);
    }

    [Fact]
    public async Task MapLlmApm_InfoWithChatEndpoints_AnnouncesThem()
    {
        await using var app = await TestApp.StartAsync(options: o =>
        {
            o.ChatEndpoint = "/api/chat";
            o.ChatStreamEndpoint = "/api/chat/stream";
        });

        using var json = await GetJsonAsync(app, "/llm-apm/api/info");
        var chat = json.RootElement.GetProperty("chat");

        Assert.Equal("/api/chat", chat.GetProperty("endpoint").GetString());
        Assert.Equal("/api/chat/stream", chat.GetProperty("streamEndpoint").GetString());
    }

    [Fact]
    public async Task MapLlmApm_ChatEndpointFromConfiguration_IsBound()
    {
        await using var app = await TestApp.StartAsync(configure: b => b.Configuration["LlmApm:Dashboard:ChatEndpoint"] = "/chat");

        using var json = await GetJsonAsync(app, "/llm-apm/api/info");

        Assert.Equal("/chat", json.RootElement.GetProperty("chat").GetProperty("endpoint").GetString());
    }

    [Fact]
    public async Task MapLlmApm_SummaryAfterRequests_CountsThemByModel()
    {
        await using var app = await StartWithChatAsync();
        await ChatAsync(app, ok: true);
        await ChatAsync(app, ok: false);

        using var json = await GetJsonAsync(app, "/llm-apm/api/summary?window=1m");
        var root = json.RootElement;

        Assert.Equal("1m", root.GetProperty("window").GetString());
        var from = root.GetProperty("from").GetDateTimeOffset();
        var to = root.GetProperty("to").GetDateTimeOffset();
        // The window starts at a whole step (5 s) of the store's aggregates.
        Assert.InRange(to - from, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(65));
        Assert.Equal(0, from.UtcTicks % TimeSpan.FromSeconds(5).Ticks);
        Assert.Equal(2, root.GetProperty("count").GetInt64());
        Assert.Equal(1, root.GetProperty("errorCount").GetInt64());
        Assert.Equal(0.5, root.GetProperty("errorRate").GetDouble());
        foreach (var figure in new[] { "avg", "p50", "p95", "p99" })
        {
            Assert.True(root.GetProperty("latencyMs").GetProperty(figure).GetDouble() > 0, figure);
        }

        foreach (var token in new[] { "input", "output", "cachedInput", "cacheWriteInput", "reasoning", "total" })
        {
            Assert.Equal(JsonValueKind.Number, root.GetProperty("tokens").GetProperty(token).ValueKind);
        }

        Assert.Equal(JsonValueKind.Number, root.GetProperty("costUsd").ValueKind);
        Assert.Equal(JsonValueKind.Number, root.GetProperty("unpricedCount").ValueKind);
        Assert.Equal(1, root.GetProperty("errorsByType").GetProperty("rate_limited").GetInt64());
        var model = Assert.Single(root.GetProperty("byModel").EnumerateArray());
        Assert.Equal("gpt-4o-mini", model.GetProperty("model").GetString());
        Assert.Equal(2, model.GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task MapLlmApm_SummaryWithoutRequests_IsZerosWithoutLatency()
    {
        await using var app = await TestApp.StartAsync();

        using var json = await GetJsonAsync(app, "/llm-apm/api/summary");
        var root = json.RootElement;

        Assert.Equal("5m", root.GetProperty("window").GetString());
        Assert.Equal(0, root.GetProperty("count").GetInt64());
        Assert.Equal(0, root.GetProperty("errorRate").GetDouble());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("latencyMs").ValueKind);
        Assert.Equal(0, root.GetProperty("unpricedCount").GetInt64());
        Assert.Empty(root.GetProperty("byModel").EnumerateArray());
    }

    [Fact]
    public async Task MapLlmApm_RequestsPaged_NewestFirstWithCursorUntilTheLastPage()
    {
        await using var app = await StartWithChatAsync();
        for (var i = 0; i < 3; i++)
        {
            await ChatAsync(app, ok: i != 1);
        }

        await app.WaitForHistoryAsync(3);

        using var first = await GetJsonAsync(app, "/llm-apm/api/requests?limit=2");
        var items = first.RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, items.Count);
        Assert.True(items[0].GetProperty("seq").GetInt64() > items[1].GetProperty("seq").GetInt64());
        var cursor = first.RootElement.GetProperty("nextCursor").GetString();
        Assert.Equal(items[1].GetProperty("seq").GetInt64().ToString(CultureInfo.InvariantCulture), cursor);

        using var second = await GetJsonAsync(app, $"/llm-apm/api/requests?limit=2&before={cursor}");
        Assert.Single(second.RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, second.RootElement.GetProperty("nextCursor").ValueKind);

        using var errors = await GetJsonAsync(app, "/llm-apm/api/requests?status=error&before=&model=&route=%2Fapi%2Fchat");
        var error = Assert.Single(errors.RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal("rate_limited", error.GetProperty("errorType").GetString());

        var id = items[0].GetProperty("id").GetString()!;
        using var byPrefix = await GetJsonAsync(app, $"/llm-apm/api/requests?q={id[..8]}");
        Assert.Equal(id, Assert.Single(byPrefix.RootElement.GetProperty("items").EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task MapLlmApm_RequestById_ReturnsTheRecordWithItsSteps()
    {
        await using var app = await StartWithChatAsync();
        await ChatAsync(app, ok: true);
        var id = Assert.Single(await app.WaitForHistoryAsync(1)).Id;

        using var json = await GetJsonAsync(app, $"/llm-apm/api/requests/{id}");
        var root = json.RootElement;

        Assert.Equal(id, root.GetProperty("id").GetString());
        Assert.Matches("^[0-9a-f]{32}$", root.GetProperty("traceId").GetString());
        Assert.Matches("^[0-9a-f]{16}$", root.GetProperty("spanId").GetString());
        Assert.Equal("/api/chat", root.GetProperty("route").GetString());
        Assert.Equal("ok", root.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("errorType").ValueKind);
        Assert.True(root.GetProperty("durationMs").GetDouble() > 0);
        Assert.True(root.TryGetProperty("startTime", out _));
        Assert.True(root.GetProperty("tokens").TryGetProperty("estimated", out _));
        Assert.True(root.TryGetProperty("unpriced", out _));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("content").ValueKind);
        var step = Assert.Single(root.GetProperty("steps").EnumerateArray());
        Assert.Equal("preprocessing", step.GetProperty("name").GetString());
        Assert.Equal(0, step.GetProperty("depth").GetInt32());
        Assert.True(step.TryGetProperty("offsetMs", out _));
        Assert.Equal("ok", step.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("1m", 5, 12)]
    [InlineData("5m", 15, 20)]
    [InlineData("1h", 60, 60)]
    [InlineData("24h", 1800, 48)]
    public async Task MapLlmApm_TimeSeries_CoversTheWindowWithItsBuckets(string window, int bucketSeconds, int buckets)
    {
        await using var app = await StartWithChatAsync();
        await ChatAsync(app, ok: true);
        var record = Assert.Single(await app.WaitForHistoryAsync(1));

        using var json = await GetJsonAsync(app, $"/llm-apm/api/timeseries?window={window}");
        var root = json.RootElement;

        Assert.Equal(window, root.GetProperty("window").GetString());
        Assert.Equal(bucketSeconds, root.GetProperty("bucketSeconds").GetInt32());
        var list = root.GetProperty("buckets").EnumerateArray().ToList();
        Assert.Equal(buckets, list.Count);
        var starts = list.Select(b => b.GetProperty("start").GetDateTimeOffset()).ToList();
        Assert.Equal(starts.Order(), starts);
        Assert.Equal(1, list.Sum(b => b.GetProperty("count").GetInt64()));
        Assert.Equal(1, list[^1].GetProperty("count").GetInt64() + list[^2].GetProperty("count").GetInt64());
        Assert.True(list[0].TryGetProperty("errorsByType", out _));
        Assert.All(list, b => Assert.Equal(JsonValueKind.Number, b.GetProperty("unpricedCount").ValueKind));
        var busy = Assert.Single(list, b => b.GetProperty("count").GetInt64() > 0);
        Assert.True(busy.GetProperty("latencyMs").GetProperty("p95").GetDouble() > 0);
        Assert.Equal(record.Id, busy.GetProperty("slowest").GetProperty("requestId").GetString());
        Assert.Equal(record.DurationMs, busy.GetProperty("slowest").GetProperty("durationMs").GetDouble());

        // An empty bucket has no latency (null), not a latency of 0: a chart draws a gap there.
        Assert.All(list.Where(b => b.GetProperty("count").GetInt64() == 0), b => Assert.Equal(JsonValueKind.Null, b.GetProperty("latencyMs").ValueKind));
        Assert.All(list.Where(b => b.GetProperty("count").GetInt64() == 0), b => Assert.Equal(JsonValueKind.Null, b.GetProperty("slowest").ValueKind));
    }

    [Fact]
    public async Task MapLlmApm_SummaryWithUnpricedModel_FlagsItInTotalsByModelAndBuckets()
    {
        await using var app = await TestApp.StartAsync(map: a => a.MapPost("/api/chat", (string model) =>
        {
            LlmRequest.Current!.RecordUsage(model, new LlmUsage(1000, 500));
            return Results.Ok();
        }).WithLlmApm());
        foreach (var model in new[] { "gpt-4o-mini", "my-unpriced-model", "my-unpriced-model" })
        {
            using var response = await app.Client.PostAsync($"/api/chat?model={model}", null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await app.WaitForHistoryAsync(3);

        using var summary = await GetJsonAsync(app, "/llm-apm/api/summary?window=1m");
        var root = summary.RootElement;
        Assert.Equal(2, root.GetProperty("unpricedCount").GetInt64());
        Assert.True(root.GetProperty("costUsd").GetDecimal() > 0);
        var byModel = root.GetProperty("byModel").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
        Assert.Equal(2, byModel["my-unpriced-model"].GetProperty("unpricedCount").GetInt64());
        Assert.Equal(0, byModel["my-unpriced-model"].GetProperty("costUsd").GetDecimal());
        Assert.Equal(0, byModel["gpt-4o-mini"].GetProperty("unpricedCount").GetInt64());

        using var series = await GetJsonAsync(app, "/llm-apm/api/timeseries?window=1m");
        Assert.Equal(2, series.RootElement.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("unpricedCount").GetInt64()));
    }

    [Theory]
    [InlineData("/llm-apm/api/requests?limit=-1", 400)]
    [InlineData("/llm-apm/api/requests?limit=0", 400)]
    [InlineData("/llm-apm/api/requests?limit=999999", 400)]
    [InlineData("/llm-apm/api/requests?limit=ten", 400)]
    [InlineData("/llm-apm/api/requests?limit=99999999999999999999", 400)]
    [InlineData("/llm-apm/api/requests?before=garbage", 400)]
    [InlineData("/llm-apm/api/requests?before=-5", 400)]
    [InlineData("/llm-apm/api/requests?status=failed", 400)]
    [InlineData("/llm-apm/api/summary?window=2m", 400)]
    [InlineData("/llm-apm/api/summary?window=5M", 400)]
    [InlineData("/llm-apm/api/timeseries?window=7d", 400)]
    [InlineData("/llm-apm/api/requests/0123456789abcdef0123456789abcdef", 404)]
    [InlineData("/llm-apm/api/requests/%2e%2e", 404)]
    [InlineData("/llm-apm/api/nothing-here", 404)]
    [InlineData("/llm-apm/api/openapi.json/v1", 404)]
    public async Task MapLlmApm_BadInput_AnswersProblemDetailsNever500(string path, int status)
    {
        await using var app = await TestApp.StartAsync();

        using var response = await app.Client.GetAsync(path);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal(status, root.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(root.GetProperty("requestId").GetString()));
        Assert.Matches("^[0-9a-f]{32}$", root.GetProperty("traceId").GetString());
    }

    [Fact]
    public async Task MapLlmApm_BadInput_RequestIdIsTheHttpRequestsTraceIdentifier()
    {
        string? identifier = null;
        await using var app = await TestApp.StartAsync(map: a => a.Use((context, next) =>
        {
            identifier = context.TraceIdentifier;
            return next(context);
        }));

        using var response = await app.Client.GetAsync("/llm-apm/api/requests?limit=-1");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(identifier, json.RootElement.GetProperty("requestId").GetString());
        var server = Assert.Single(app.Spans(), s => s.Source.Name == "Microsoft.AspNetCore");
        Assert.Equal(server.TraceId.ToHexString(), json.RootElement.GetProperty("traceId").GetString());
    }

    [Fact]
    public async Task MapLlmApm_OpenApi_DescribesTheHistoryApiOnly()
    {
        await using var app = await TestApp.StartAsync(
            map: a =>
            {
                a.MapGet("/host-only", () => "x");
                a.MapOpenApi();
            },
            configure: b => b.Services.AddOpenApi());

        using var json = await GetJsonAsync(app, "/llm-apm/api/openapi.json");
        var paths = json.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();

        Assert.Equal("LLM-APM history API", json.RootElement.GetProperty("info").GetProperty("title").GetString());
        foreach (var expected in new[] { "/llm-apm/api/info", "/llm-apm/api/summary", "/llm-apm/api/requests", "/llm-apm/api/requests/{id}", "/llm-apm/api/timeseries", "/llm-apm/api/stream" })
        {
            Assert.Contains(expected, paths);
        }

        Assert.DoesNotContain("/host-only", paths);

        // The host's own document leaves the LLM-APM endpoints out.
        using var host = await GetJsonAsync(app, "/openapi/v1.json");
        var hostPaths = host.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/host-only", hostPaths);
        Assert.DoesNotContain(hostPaths, p => p.StartsWith("/llm-apm", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MapLlmApm_Stream_DeliversAnEventForAFinishedRequest()
    {
        await using var app = await StartWithChatAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));

        Assert.Equal("retry: 2000", await reader.ReadLineAsync(cts.Token));
        Assert.Equal(string.Empty, await reader.ReadLineAsync(cts.Token));
        await ChatAsync(app, ok: true);

        Assert.Equal("event: request", await reader.ReadLineAsync(cts.Token));
        var id = await reader.ReadLineAsync(cts.Token);
        var data = await reader.ReadLineAsync(cts.Token);
        var record = Assert.Single(app.Instrumentation.History.Query(new() { Limit = 10 }));
        Assert.Equal("id: " + record.Seq.ToString(CultureInfo.InvariantCulture), id);
        Assert.StartsWith("data: ", data, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(data!["data: ".Length..]);
        Assert.Equal(record.Id, json.RootElement.GetProperty("id").GetString());
        Assert.Equal("/api/chat", json.RootElement.GetProperty("route").GetString());
    }

    [Fact]
    public async Task MapLlmApm_StreamIdle_SendsKeepAliveComments()
    {
        await using var app = await TestApp.StartAsync(options: o => o.StreamKeepAliveInterval = TimeSpan.FromMilliseconds(100));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));

        Assert.Equal("retry: 2000", await reader.ReadLineAsync(cts.Token));
        Assert.Equal(string.Empty, await reader.ReadLineAsync(cts.Token));
        Assert.Equal(": keep-alive", await reader.ReadLineAsync(cts.Token));
        Assert.Equal(string.Empty, await reader.ReadLineAsync(cts.Token));
        Assert.Equal(": keep-alive", await reader.ReadLineAsync(cts.Token));
    }

    [Fact]
    public async Task MapLlmApm_StreamsAboveTheLimit_AreRefusedWith429UntilOneCloses()
    {
        await using var app = await TestApp.StartAsync(options: o => o.MaxStreamConnectionsPerClient = 2);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var first = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        using var second = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        using (var third = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream"), HttpCompletionOption.ResponseHeadersRead, cts.Token))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.Equal("application/problem+json", third.Content.Headers.ContentType?.MediaType);
        }

        // Another client address has its own allowance.
        using (var other = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream", "::1"), HttpCompletionOption.ResponseHeadersRead, cts.Token))
        {
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        }

        first.Dispose();
        var connections = app.App.Services.GetRequiredService<LlmApmStreamConnections>();
        var deadline = Stopwatch.StartNew();
        while (connections.OpenFor("127.0.0.1") > 1 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        using var fourth = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, fourth.StatusCode);
    }

    [Fact]
    public async Task MapLlmApm_StreamClientThatCannotKeepUp_IsDisconnected()
    {
        await using var app = await TestApp.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var response = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        var feed = app.Instrumentation.Feed;
        Assert.Equal(1, feed.SubscriberCount);

        // Publishing never waits: far more records than the subscriber's buffer, while the client reads nothing.
        var record = new History.LlmRequestRecord { Id = "x", TraceId = "t", Route = "/r", Status = "ok" };
        for (var i = 0; i < 5000 && feed.SubscriberCount > 0; i++)
        {
            feed.Publish(record);
        }

        Assert.Equal(0, feed.SubscriberCount);

        // The server ends the response: the client reads to the end instead of waiting forever.
        var body = await response.Content.ReadAsStringAsync(cts.Token);
        Assert.StartsWith("retry: 2000", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MapLlmApm_Metrics_ScrapePassesPromtoolCheck()
    {
        await using var app = await StartWithChatAsync();
        await ChatAsync(app, ok: true);
        await ChatAsync(app, ok: false);
        await app.WaitForHistoryAsync(2);

        // /metrics is outside the prefix and open like any Prometheus exporter.
        using var response = await app.Client.SendAsync(TestApp.Get("/metrics", TestApp.NonLoopback));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var exposition = await response.Content.ReadAsStringAsync();
        Assert.Contains("llm_requests_total{", exposition, StringComparison.Ordinal);
        Assert.Contains("llm_request_latency_seconds_bucket{", exposition, StringComparison.Ordinal);
        Assert.Contains("llm_requests_active{", exposition, StringComparison.Ordinal);
        Assert.Contains("llm_step_latency_seconds_bucket{", exposition, StringComparison.Ordinal);

        const string promtool = "/usr/bin/promtool";
        if (!File.Exists(promtool))
        {
            // xUnit 2 has no run-time skip: outside CI the check is reported and left out; in CI it must run.
            Assert.True(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")), $"{promtool} is missing and CI is set: install the Debian package 'prometheus'.");
            testOutput.WriteLine($"SKIPPED: {promtool} is not installed (Debian package 'prometheus'); the exposition was not linted.");
            return;
        }

        using var process = Process.Start(new ProcessStartInfo(promtool, ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await process.StandardInput.WriteAsync(exposition);
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0 && output.Trim().Length == 0, $"promtool check metrics (exit {process.ExitCode}):\n{output}\n{exposition}");
    }

    internal static async Task<TestApp> StartWithChatAsync(Action<LlmApmEndpointOptions>? options = null, Action<WebApplicationBuilder>? configure = null)
        => await TestApp.StartAsync(
            map: a => a.MapPost("/api/chat", async (bool? fail) =>
            {
                var request = LlmRequest.Current!;
                request.Model = "gpt-4o-mini";
                using (LlmStep.Start("preprocessing"))
                {
                    await Task.Delay(2);
                }

                if (fail == true)
                {
                    request.Fail(LlmErrorTypes.RateLimited, "Rate limit reached.");
                    return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests);
                }

                return Results.Ok(new { reply = "hi" });
            }).WithLlmApm(),
            options: options,
            configure: configure);

    internal static async Task ChatAsync(TestApp app, bool ok)
    {
        using var response = await app.Client.PostAsync(ok ? "/api/chat" : "/api/chat?fail=true", null);
        Assert.Equal(ok ? HttpStatusCode.OK : HttpStatusCode.TooManyRequests, response.StatusCode);
    }

    private static async Task<JsonDocument> GetJsonAsync(TestApp app, string path)
    {
        using var response = await app.Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body);
    }
}
