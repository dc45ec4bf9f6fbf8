using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatService.Tests.Infrastructure;
using static ChatService.Tests.Infrastructure.ChatServiceHost;

namespace ChatService.Tests;

[Collection(ProcessWideTelemetry.Name)]
public sealed class ChatEndpointsTests
{
    private static readonly string[] ExpectedSteps = ["preprocessing", "retrieve", "embedding_call", "llm_api_call", "response_parsing", "saving"];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PostChat_SimulatedProvider_RecordsOneRequestWithStepsTokensAndCost(bool stream)
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();
        var route = stream ? "/api/chat/stream" : "/api/chat";

        using var response = await host.PostChatAsync(client, new { message = "How do I find the slow step?" }, stream);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = await ChatReplies.ReadAsync(response, stream);

        var requestId = reply.Done.GetProperty("requestId").GetString()!;
        var traceId = reply.Done.GetProperty("traceId").GetString()!;
        Assert.Matches("^[0-9a-f]{32}$", requestId);
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        Assert.Matches("^[0-9a-f]{32}$", reply.Done.GetProperty("conversationId").GetString()!);
        Assert.Equal("gpt-4o-mini", reply.Done.GetProperty("model").GetString());
        Assert.False(string.IsNullOrWhiteSpace(reply.Text));
        var usage = reply.Done.GetProperty("usage");
        var input = usage.GetProperty("inputTokens").GetInt64();
        var output = usage.GetProperty("outputTokens").GetInt64();
        Assert.True(input > 10, $"input tokens {input}");
        Assert.True(output > 10, $"output tokens {output}");
        Assert.False(usage.GetProperty("estimated").GetBoolean());

        // The request's input tokens are the chat's and the retrieval's embedding's, each at its model's price.
        var metrics = await host.ScrapeAsync(client);
        var chatInput = (long)metrics.Sum("llm_tokens_total", ("route", route), ("model", "gpt-4o-mini"), ("type", "input"));
        var embeddingInput = (long)metrics.Sum("llm_tokens_total", ("route", route), ("model", "text-embedding-3-small"), ("type", "input"));
        Assert.True(embeddingInput > 0, $"embedding input tokens {embeddingInput}");
        Assert.Equal(input, chatInput + embeddingInput);
        var cost = reply.Done.GetProperty("costUsd").GetDecimal();
        Assert.Equal((chatInput * 0.15m / 1_000_000m) + (output * 0.60m / 1_000_000m) + (embeddingInput * 0.02m / 1_000_000m), cost);

        // One history record with the steps (the embedding call inside the retrieve step), the tokens and the cost.
        var record = await host.GetRecordAsync(client, requestId);
        Assert.Equal(route, record.GetProperty("route").GetString());
        Assert.Equal("ok", record.GetProperty("status").GetString());
        Assert.Equal(traceId, record.GetProperty("traceId").GetString());
        Assert.Equal(reply.Done.GetProperty("conversationId").GetString(), record.GetProperty("conversationId").GetString());
        Assert.Equal(ExpectedSteps, record.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.Equal([0, 0, 1, 0, 0, 0], record.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("depth").GetInt32()));
        Assert.All(record.GetProperty("steps").EnumerateArray(), s => Assert.Equal("ok", s.GetProperty("status").GetString()));
        Assert.Equal(input, record.GetProperty("tokens").GetProperty("input").GetInt64());
        Assert.Equal(output, record.GetProperty("tokens").GetProperty("output").GetInt64());
        Assert.Equal(cost, record.GetProperty("costUsd").GetDecimal());

        // One request span, child of the HTTP server span, with the step spans as children; the model call is inside the
        // function invocation's orchestrate_tools span, the embedding call inside the retrieve step.
        Activity? requestSpan = null;
        await Eventually.TrueAsync(() =>
        {
            requestSpan = host.Spans.ToArray().SingleOrDefault(a => a.DisplayName == $"llm.request {route}");
            return requestSpan is not null;
        });
        Assert.Equal(requestId, requestSpan!.GetTagItem("llm.request.id"));
        Assert.Equal(traceId, requestSpan.TraceId.ToHexString());
        Assert.Equal("ok", requestSpan.GetTagItem("llm.status"));
        var server = host.Spans.ToArray().Single(a => a.SpanId == requestSpan.ParentSpanId);
        Assert.Equal(ActivityKind.Server, server.Kind);
        var steps = host.Spans.ToArray().Where(a => a.ParentSpanId == requestSpan.SpanId).OrderBy(a => a.StartTimeUtc).ToList();
        Assert.Equal(["preprocessing", "retrieve", "orchestrate_tools", "response_parsing", "saving"], steps.Select(s => s.DisplayName));
        var embedding = Assert.Single(host.Spans.ToArray(), a => a.ParentSpanId == steps[1].SpanId);
        Assert.Equal(("embeddings text-embedding-3-small", ActivityKind.Client, "embedding_call"), (embedding.DisplayName, embedding.Kind, embedding.GetTagItem("llm.step.name")));
        var chat = Assert.Single(host.Spans.ToArray(), a => a.ParentSpanId == steps[2].SpanId);
        Assert.Equal(("chat gpt-4o-mini", ActivityKind.Client, "llm_api_call"), (chat.DisplayName, chat.Kind, chat.GetTagItem("llm.step.name")));
        Assert.Equal(
            ["preprocessing", "retrieve", "embedding_call", "llm_api_call", "response_parsing", "saving"],
            new[] { steps[0], steps[1], embedding, chat, steps[3], steps[4] }.Select(s => s.GetTagItem("llm.step.name") as string));

        // The metrics, with their tags.
        metrics = await host.ScrapeAsync(client);
        Assert.Equal(1, metrics.Sum("llm_requests_total", ("route", route), ("model", "gpt-4o-mini"), ("status", "ok")));
        Assert.Equal(1, metrics.Sum("llm_request_latency_seconds_count", ("route", route), ("model", "gpt-4o-mini"), ("status", "ok")));
        foreach (var step in ExpectedSteps)
        {
            Assert.Equal(1, metrics.Sum("llm_step_latency_seconds_count", ("route", route), ("step", step), ("status", "ok")));
        }

        Assert.Equal(output, metrics.Sum("llm_tokens_total", ("route", route), ("model", "gpt-4o-mini"), ("type", "output")));
        Assert.Equal((double)cost, metrics.Sum("llm_cost_usd_total", ("route", route)), 1e-12);
        Assert.False(metrics.Has("llm_errors_total"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PostChat_FaultDirective_AnswersProblemAndCountsTheError(bool stream)
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();
        var route = stream ? "/api/chat/stream" : "/api/chat";

        using var response = await host.PostChatAsync(client, new { message = "/fault rate_limited" }, stream);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("2", response.Headers.GetValues("Retry-After").Single());
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("rate_limited", problem.GetProperty("errorType").GetString());
        var requestId = problem.GetProperty("requestId").GetString()!;
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("traceId").GetString()!);

        var record = await host.GetRecordAsync(client, requestId);
        Assert.Equal("error", record.GetProperty("status").GetString());
        Assert.Equal("rate_limited", record.GetProperty("errorType").GetString());
        var callStep = record.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "llm_api_call");
        Assert.Equal("error", callStep.GetProperty("status").GetString());

        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_total", ("route", route), ("status", "error")) == 1);
        var metrics = await host.ScrapeAsync(client);
        Assert.Equal(1, metrics.Sum("llm_errors_total", ("route", route), ("model", "gpt-4o-mini"), ("step", "llm_api_call"), ("error_type", "rate_limited")));
        Assert.Equal(1, metrics.Sum("llm_errors_total"));
    }

    [Fact]
    public async Task PostChat_EchoAndModelDirectives_ReplyVerbatimAndReportTheModel()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();

        using var echo = await host.PostChatAsync(client, new { message = "/echo exactly  these words" });
        var echoReply = await echo.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("exactly  these words", echoReply.GetProperty("reply").GetString());

        using var priced = await host.PostChatAsync(client, new { message = "/model gpt-4o /echo hi" });
        var pricedReply = await priced.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("gpt-4o", pricedReply.GetProperty("model").GetString());
        Assert.Equal("hi", pricedReply.GetProperty("reply").GetString());

        using var unpriced = await host.PostChatAsync(client, new { message = "/model my-unpriced-model tell me something" });
        var unpricedReply = await unpriced.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("my-unpriced-model", unpricedReply.GetProperty("model").GetString());
        Assert.Equal(JsonValueKind.Null, unpricedReply.GetProperty("costUsd").ValueKind);

        var record = await host.GetRecordAsync(client, unpricedReply.GetProperty("requestId").GetString()!);
        Assert.True(record.GetProperty("unpriced").GetBoolean());
        Assert.Equal("my-unpriced-model", record.GetProperty("model").GetString());

        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_total") == 3);
        var metrics = await host.ScrapeAsync(client);
        Assert.Equal(1, metrics.Sum("llm_requests_total", ("model", "gpt-4o")));
        Assert.Equal(1, metrics.Sum("llm_requests_total", ("model", "other")));
        Assert.DoesNotContain(
            metrics.Samples,
            s => s.Name.StartsWith("llm_", StringComparison.Ordinal) && s.Name != "llm_price_misses_total" && s.Labels.ContainsValue("my-unpriced-model"));
        Assert.Equal(1, metrics.Sum("llm_price_misses_total"));
    }

    [Theory]
    [InlineData("{\"message\": ", "application/json", 400)]
    [InlineData("{\"message\": \"\"}", "application/json", 400)]
    [InlineData("{\"message\": 42}", "application/json", 400)]
    [InlineData("{\"message\": \"hi\", \"conversationId\": \"not-an-id\"}", "application/json", 400)]
    public async Task PostChat_InvalidRequest_AnswersProblemDetails(string body, string contentType, int status)
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();

        using var content = new StringContent(body, Encoding.UTF8, contentType);
        using var response = await client.PostAsync("/api/chat", content);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal("invalid_request", problem.GetProperty("errorType").GetString());
        var record = await host.GetRecordAsync(client, problem.GetProperty("requestId").GetString()!);
        Assert.Equal("invalid_request", record.GetProperty("errorType").GetString());
        Assert.Equal("preprocessing", Assert.Single(record.GetProperty("steps").EnumerateArray()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task PostChatStream_ClientAcceptsOnlyEvents_StillGetsProblemDetailsBody()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream")
        {
            Content = new StringContent("{\"message\": \"   \"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("text/event-stream");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));
        Assert.Equal(32, problem.GetProperty("traceId").GetString()!.Length);
    }

    [Fact]
    public async Task PostChat_NotJson_Answers415BeforeTheLlmEndpoint()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();

        using var content = new StringContent("{\"message\": \"hi\"}", Encoding.UTF8, "text/plain");
        using var response = await client.PostAsync("/api/chat", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await host.GetAllRecordsAsync(client));
    }

    [Fact]
    public async Task PostChat_TooLargeBodyOrMessage_Answers413Or400()
    {
        await using var host = new ChatServiceHost(Settings(("ChatService:MaxRequestBodyBytes", "2048"), ("ChatService:MaxMessageLength", "100")));
        using var client = host.CreateClient();

        using var large = await host.PostChatAsync(client, new { message = new string('a', 4000) });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);

        using var longMessage = await host.PostChatAsync(client, new { message = new string('a', 101) });
        Assert.Equal(HttpStatusCode.BadRequest, longMessage.StatusCode);
        var problem = await longMessage.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("100 characters", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostChatStream_ClientDisconnects_CancelsTheLlmCall()
    {
        await using var host = new ChatServiceHost(Settings(("Llm:Simulated:PerTokenMs", "100")));
        using var client = host.CreateClient();

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(new { message = "Write a long story" }) })
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64];
            Assert.True(await body.ReadAsync(buffer) > 0);
        }

        // The client is gone: the simulated call sees the cancellation and the request is recorded as cancelled.
        List<JsonElement> records = [];
        await Eventually.TrueAsync(async () => (records = await host.GetAllRecordsAsync(client)).Count == 1);
        var record = records[0];
        Assert.Equal("error", record.GetProperty("status").GetString());
        Assert.Equal("cancelled", record.GetProperty("errorType").GetString());
        var call = record.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "llm_api_call");
        Assert.Equal("cancelled", call.GetProperty("errorType").GetString());
        Assert.True(call.GetProperty("durationMs").GetDouble() < 2000, "the LLM call stopped when the client left");
    }

    [Fact]
    public async Task PostChat_TwoHundredConcurrentChats_MetricsAndHistoryAgree()
    {
        const int Chats = 200;
        // Without retrieval: a request whose chat model has no price has no costUsd in its record, while
        // llm_cost_usd_total counts the priced embedding of its retrieval, so the two sums would differ by design.
        await using var host = new ChatServiceHost(Settings(("Llm:Simulated:Faults:provider_unavailable", "0.05"), ("ChatService:Retrieval:Enabled", "false")));
        using var client = host.CreateClient();

        var errors = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, Chats), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var message = (i % 10) switch
            {
                0 => "/fault rate_limited",
                3 => "/fault content_filtered",
                5 => $"/model my-unpriced-model question {i}",
                7 => $"/model gpt-4o question {i}",
                _ => $"question number {i} about observability",
            };
            using var response = await host.PostChatAsync(client, new { message }, stream: i % 3 == 0);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode || body.Contains("event: error", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref errors);
            }
        });

        List<JsonElement> records = [];
        await Eventually.TrueAsync(async () => (records = await host.GetAllRecordsAsync(client)).Count >= Chats);
        var metrics = await host.ScrapeAsync(client);

        Assert.Equal(Chats, records.Count);
        Assert.Equal(Chats, metrics.Sum("llm_requests_total"));
        Assert.Equal(errors, records.Count(r => r.GetProperty("status").GetString() == "error"));
        Assert.Equal(errors, metrics.Sum("llm_requests_total", ("status", "error")));
        Assert.True(errors >= 40, $"at least the injected faults failed ({errors})");
        Assert.Equal(Chats, metrics.Sum("llm_request_latency_seconds_count"));

        foreach (var (type, property) in new[] { ("input", "input"), ("output", "output"), ("cached_input", "cachedInput"), ("reasoning", "reasoning") })
        {
            var fromHistory = records.Sum(r => r.GetProperty("tokens").GetProperty(property).GetInt64());
            Assert.Equal(fromHistory, metrics.Sum("llm_tokens_total", ("type", type)));
        }

        var costFromHistory = records.Where(r => r.GetProperty("costUsd").ValueKind == JsonValueKind.Number).Sum(r => r.GetProperty("costUsd").GetDecimal());
        Assert.Equal((double)costFromHistory, metrics.Sum("llm_cost_usd_total"), 1e-9);
        Assert.True(costFromHistory > 0);
        Assert.Equal(records.Count(r => r.GetProperty("unpriced").GetBoolean()), records.Count(r => r.GetProperty("costUsd").ValueKind == JsonValueKind.Null));
        Assert.Equal(
            records.Where(r => r.GetProperty("status").GetString() == "error").GroupBy(r => r.GetProperty("errorType").GetString()).ToDictionary(g => g.Key!, g => (double)g.Count()),
            metrics.Samples.Where(s => s.Name == "llm_errors_total").GroupBy(s => s.Labels["error_type"]).ToDictionary(g => g.Key, g => g.Sum(s => s.Value)));
    }
}
