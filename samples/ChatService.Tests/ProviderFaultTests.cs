using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ChatService.Tests.Infrastructure;
using static ChatService.Tests.Infrastructure.ChatServiceHost;

namespace ChatService.Tests;

/// <summary>Retries of transient provider failures, one visible attempt each, and clients that leave mid-stream; the real
/// OpenAI client against the fake server.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class ProviderFaultTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Chat_RateLimitedThenOk_RetriesWithTwoAttemptSpans(bool stream)
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.RetryAfter = 1;
        fake.Script.Enqueue(FakeBehavior.RateLimited);
        var settings = LlmChatClientFactoryTests.ProviderSettings(fake, "OpenAI");
        settings["Llm:MaxRetries"] = "2";
        await using var host = new ChatServiceHost(settings);
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "Hello" }, stream);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (text, done) = await ChatReplies.ReadAsync(response, stream);
        Assert.Equal(FakeOpenAiServer.Reply, text);
        Assert.Equal(2, fake.Received.Count);

        // The history: two llm_api_call steps, the first rate-limited, the second ok; the request ok; the tokens of the
        // attempt that consumed them.
        var record = await host.GetRecordAsync(client, done.GetProperty("requestId").GetString()!);
        Assert.Equal("ok", record.GetProperty("status").GetString());
        var calls = record.GetProperty("steps").EnumerateArray().Where(s => s.GetProperty("name").GetString() == "llm_api_call").ToList();
        Assert.Equal(2, calls.Count);
        Assert.Equal("error", calls[0].GetProperty("status").GetString());
        Assert.Equal("rate_limited", calls[0].GetProperty("errorType").GetString());
        Assert.Equal("ok", calls[1].GetProperty("status").GetString());
        var waited = calls[1].GetProperty("offsetMs").GetDouble() - (calls[0].GetProperty("offsetMs").GetDouble() + calls[0].GetProperty("durationMs").GetDouble());
        Assert.True(waited >= 900, $"Retry-After: 1 honoured (waited {waited} ms)");
        Assert.Equal(FakeOpenAiServer.PromptTokens, record.GetProperty("tokens").GetProperty("input").GetInt64());
        Assert.Equal(FakeOpenAiServer.CompletionTokens, record.GetProperty("tokens").GetProperty("output").GetInt64());

        // The trace: one request span, two chat spans under the function invocation's span (the request's child), and
        // the retry as an event of the request.
        Activity? request = null;
        await Eventually.TrueAsync(() => (request = host.Spans.ToArray().SingleOrDefault(a => a.DisplayName.StartsWith("llm.request", StringComparison.Ordinal))) is not null);
        var loop = Assert.Single(host.Spans.ToArray(), a => a.ParentSpanId == request!.SpanId && a.DisplayName == "orchestrate_tools");
        var attempts = host.Spans.ToArray().Where(a => a.ParentSpanId == loop.SpanId && (a.GetTagItem("llm.step.name") as string) == "llm_api_call")
            .OrderBy(a => a.StartTimeUtc).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal("chat gpt-4o-mini", a.DisplayName));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal("rate_limited", attempts[0].GetTagItem("error.type"));
        Assert.NotEqual(ActivityStatusCode.Error, attempts[1].Status);
        Assert.Equal("ok", request!.GetTagItem("llm.status"));
        var retry = Assert.Single(request.Events, e => e.Name == "llm.retry");
        Assert.Contains(retry.Tags, t => t.Key == "error.type" && (string?)t.Value == "rate_limited");

        // The metrics: one ok request, the failed attempt counted as an error of its step.
        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_total") == 1);
        var metrics = await host.ScrapeAsync(client);
        Assert.Equal(1, metrics.Sum("llm_requests_total", ("status", "ok")));
        Assert.Equal(1, metrics.Sum("llm_errors_total", ("step", "llm_api_call"), ("error_type", "rate_limited")));
        Assert.Equal(FakeOpenAiServer.PromptTokens, metrics.Sum("llm_tokens_total", ("type", "input")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Chat_RateLimitedWithRetryAfter_WaitsWhatTheProviderAsks(bool stream)
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.RetryAfter = 2;
        fake.Script.Enqueue(FakeBehavior.RateLimited);
        var settings = LlmChatClientFactoryTests.ProviderSettings(fake, "OpenAI");
        settings["Llm:MaxRetries"] = "1";
        settings["Llm:RetryBaseDelay"] = "00:00:00.010"; // the backoff, were Retry-After ignored
        await using var host = new ChatServiceHost(settings);
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "Hello" }, stream);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (_, done) = await ChatReplies.ReadAsync(response, stream);
        Assert.Equal(2, fake.Received.Count);

        // The retry planned the provider's wait, not the backoff, and the second attempt started after it.
        Activity? request = null;
        await Eventually.TrueAsync(() => (request = host.Spans.ToArray().SingleOrDefault(a => a.DisplayName.StartsWith("llm.request", StringComparison.Ordinal))) is not null);
        var retry = Assert.Single(request!.Events, e => e.Name == "llm.retry");
        Assert.Contains(retry.Tags, t => t.Key == "llm.retry.delay_ms" && (long)t.Value! == 2000);
        Assert.Contains(retry.Tags, t => t.Key == "llm.retry.attempt" && (int)t.Value! == 1);
        var record = await host.GetRecordAsync(client, done.GetProperty("requestId").GetString()!);
        var calls = record.GetProperty("steps").EnumerateArray().Where(s => s.GetProperty("name").GetString() == "llm_api_call").ToList();
        Assert.Equal(["rate_limited", null], calls.Select(c => c.TryGetProperty("errorType", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null));
        var waited = calls[1].GetProperty("offsetMs").GetDouble() - (calls[0].GetProperty("offsetMs").GetDouble() + calls[0].GetProperty("durationMs").GetDouble());
        Assert.True(waited >= 1900, $"Retry-After: 2 honoured (waited {waited} ms)");
        Assert.Contains("retrying in 2000 ms", host.Logs.AllText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Chat_TotalTimeoutEndsDuringARetry_CutsTheAttemptAndAnswersTimeout(bool stream)
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.RetryAfter = 1;
        fake.Script.Enqueue(FakeBehavior.RateLimited);
        fake.Behavior = FakeBehavior.Slow;
        fake.SlowDelay = TimeSpan.FromSeconds(6);
        var settings = LlmChatClientFactoryTests.ProviderSettings(fake, "OpenAI");
        settings["Llm:MaxRetries"] = "3";
        settings["Llm:Timeout"] = "00:00:02";
        settings["Llm:TotalTimeout"] = "00:00:02.500"; // the retry starts at about 1 s: the total ends before its own 2 s
        await using var host = new ChatServiceHost(settings);
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "Hello" }, stream);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        Assert.Equal("timeout", problem.GetProperty("errorType").GetString());
        Assert.Equal(2, fake.Received.Count);

        // The attempt in flight was cut by the total timeout: a timeout, not the caller's cancellation.
        var record = await host.GetRecordAsync(client, problem.GetProperty("requestId").GetString()!);
        Assert.Equal("error", record.GetProperty("status").GetString());
        Assert.Equal(
            ["rate_limited", "timeout"],
            record.GetProperty("steps").EnumerateArray().Where(s => s.GetProperty("name").GetString() == "llm_api_call").Select(s => s.GetProperty("errorType").GetString()));
        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_total") == 1);
        var metrics = await host.ScrapeAsync(client);
        Assert.Equal(1, metrics.Sum("llm_errors_total", ("step", "llm_api_call"), ("error_type", "timeout")));
        Assert.Equal(0, metrics.Sum("llm_errors_total", ("error_type", "cancelled")));
        await Eventually.TrueAsync(() => fake.InFlight == 0);
    }

    [Fact]
    public async Task Chat_ProviderStaysUnavailable_StopsAfterMaxRetries()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.Behavior = FakeBehavior.Unavailable;
        var settings = LlmChatClientFactoryTests.ProviderSettings(fake, "OpenAI");
        settings["Llm:MaxRetries"] = "2";
        settings["Llm:RetryBaseDelay"] = "00:00:00.010";
        await using var host = new ChatServiceHost(settings);
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "Hello" });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(3, fake.Received.Count);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        Assert.Equal("provider_unavailable", problem.GetProperty("errorType").GetString());
        var record = await host.GetRecordAsync(client, problem.GetProperty("requestId").GetString()!);
        Assert.Equal("error", record.GetProperty("status").GetString());
        var calls = record.GetProperty("steps").EnumerateArray().Where(s => s.GetProperty("name").GetString() == "llm_api_call").ToList();
        Assert.Equal(3, calls.Count);
        Assert.All(calls, c => Assert.Equal("provider_unavailable", c.GetProperty("errorType").GetString()));
        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_total") == 1);
        Assert.Equal(3, (await host.ScrapeAsync(client)).Sum("llm_errors_total", ("step", "llm_api_call"), ("error_type", "provider_unavailable")));
    }

    [Fact]
    public async Task Chat_RetryAfterBeyondTotalTimeout_PassesThe429OnWithoutWaiting()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.Behavior = FakeBehavior.RateLimited; // Retry-After: 7
        var settings = LlmChatClientFactoryTests.ProviderSettings(fake, "OpenAI");
        settings["Llm:MaxRetries"] = "3";
        settings["Llm:Timeout"] = "00:00:03";
        settings["Llm:TotalTimeout"] = "00:00:03";
        await using var host = new ChatServiceHost(settings);
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "Hello" });

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("7", response.Headers.GetValues("Retry-After").Single());
        Assert.Single(fake.Received);
    }

    [Fact]
    public async Task Chat_ConnectionRefused_RetriedThenNetworkError()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        await using var host = new ChatServiceHost(Settings(
            ("Llm:Provider", "OpenAI"),
            ("Llm:Endpoint", $"http://127.0.0.1:{port}/v1"),
            ("Llm:ApiKey", "sk-test-unused"),
            ("Llm:Timeout", "00:00:02"),
            ("Llm:MaxRetries", "1"),
            ("Llm:RetryBaseDelay", "00:00:00.010")));
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "Hello" }, stream: true);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        Assert.Equal("network", problem.GetProperty("errorType").GetString());
        var record = await host.GetRecordAsync(client, problem.GetProperty("requestId").GetString()!);
        Assert.Equal(
            ["network", "network"],
            record.GetProperty("steps").EnumerateArray().Where(s => s.GetProperty("name").GetString() == "llm_api_call").Select(s => s.GetProperty("errorType").GetString()));
    }

    [Fact]
    public async Task ChatStream_ClientsDisconnectMidStream_ProviderCallsCancelledNothingLeaks()
    {
        const int Clients = 6;
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.Behavior = FakeBehavior.SlowStream;
        var settings = LlmChatClientFactoryTests.ProviderSettings(fake, "OpenAI");
        settings["Llm:Timeout"] = "00:00:30";
        await using var host = new ChatServiceHost(settings);
        using var client = host.CreateClient();

        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(new { message = $"a long story {i}" }) };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var body = await response.Content.ReadAsStreamAsync();
            var seen = new StringBuilder();
            var buffer = new byte[256];
            while (CountOf(seen.ToString(), "event: delta") < 3)
            {
                var read = await body.ReadAsync(buffer);
                Assert.True(read > 0, "the stream ended before three deltas");
                seen.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }

            // Leaving: disposing the response aborts the request.
        }));

        List<JsonElement> records = [];
        await Eventually.TrueAsync(async () => (records = await host.GetAllRecordsAsync(client)).Count == Clients);
        Assert.All(records, r =>
        {
            Assert.Equal("error", r.GetProperty("status").GetString());
            Assert.Equal("cancelled", r.GetProperty("errorType").GetString());
            var tokens = r.GetProperty("tokens");
            Assert.True(tokens.GetProperty("output").GetInt64() >= 3, "the tokens streamed so far are counted");
            Assert.True(tokens.GetProperty("input").GetInt64() > 0);
        });

        // The provider saw every call end: nothing in flight, every connection closed; no request left active.
        await Eventually.TrueAsync(() => fake.InFlight == 0 && fake.OpenedConnections == fake.ClosedConnections);
        Assert.Equal(Clients, fake.Received.Count);
        Assert.True(fake.OpenedConnections >= 1);
        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_active") == 0);
        var metrics = await host.ScrapeAsync(client);
        Assert.Equal(Clients, metrics.Sum("llm_requests_total", ("status", "error")));
        Assert.True(metrics.Sum("llm_tokens_total", ("type", "output")) >= 3 * Clients);
    }

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
