using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using static ChatService.Tests.Infrastructure.ChatServiceHost;

namespace ChatService.Tests;

/// <summary>The real OpenAI and Azure OpenAI clients, as the service configures them, against a fake server on loopback.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class LlmChatClientFactoryTests
{
    private const string ApiKey = "sk-test-DO-NOT-LEAK-4f9a1c2e7b3d";

    public static TheoryData<string, bool> Providers => new()
    {
        { "OpenAI", false },
        { "OpenAI", true },
        { "AzureOpenAI", false },
        { "AzureOpenAI", true },
    };

    public static TheoryData<string, FakeBehavior, bool, string, int> Failures()
    {
        var data = new TheoryData<string, FakeBehavior, bool, string, int>();
        foreach (var provider in new[] { "OpenAI", "AzureOpenAI" })
        {
            foreach (var stream in new[] { false, true })
            {
                data.Add(provider, FakeBehavior.Unauthorized, stream, "authentication", 502);
                data.Add(provider, FakeBehavior.RateLimited, stream, "rate_limited", 429);
                data.Add(provider, FakeBehavior.ContextLengthExceeded, stream, "context_length_exceeded", 413);
                data.Add(provider, FakeBehavior.ContentFilter, stream, "content_filtered", 422);
                data.Add(provider, FakeBehavior.InternalError, stream, "provider_unavailable", 502);
                data.Add(provider, FakeBehavior.Unavailable, stream, "provider_unavailable", 502);
                data.Add(provider, FakeBehavior.Slow, stream, "timeout", 504);
                data.Add(provider, FakeBehavior.MalformedJson, stream, "_OTHER", 502);
                data.Add(provider, FakeBehavior.StreamCut, stream, "network", stream ? 200 : 502);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task Chat_RealProviderClient_SendsConfiguredSettingsAndRecordsUsage(string provider, bool stream)
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        await using var host = new ChatServiceHost(ProviderSettings(fake, provider));
        using var client = host.CreateClient();

        // The client's model, max_tokens and temperature change nothing.
        using var response = await host.PostChatAsync(client, new { message = "Hello", model = "gpt-4o", max_tokens = 5, temperature = 1.9 }, stream);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (text, done) = await ChatReplies.ReadAsync(response, stream);
        Assert.Equal(FakeOpenAiServer.Reply, text);
        Assert.Equal(FakeOpenAiServer.ResponseModel, done.GetProperty("model").GetString());
        var usage = done.GetProperty("usage");
        Assert.Equal(FakeOpenAiServer.PromptTokens, usage.GetProperty("inputTokens").GetInt64());
        Assert.Equal(FakeOpenAiServer.CompletionTokens, usage.GetProperty("outputTokens").GetInt64());
        Assert.Equal(FakeOpenAiServer.CachedTokens, usage.GetProperty("cachedInputTokens").GetInt64());
        Assert.True(done.GetProperty("costUsd").GetDecimal() > 0);

        var received = Assert.Single(fake.Received);
        var body = received.Json;
        Assert.Equal(321, (body["max_completion_tokens"] ?? body["max_tokens"])!.GetValue<int>());
        Assert.Equal(0.3, body["temperature"]!.GetValue<double>(), 1e-6);
        Assert.Equal(stream, body["stream"]?.GetValue<bool>() ?? false);
        var messages = body["messages"]!.AsArray();
        Assert.Equal("system", messages[0]!["role"]!.GetValue<string>());
        Assert.Equal("Be brief.", messages[0]!["content"]!.ToString());
        Assert.Equal("user", messages[^1]!["role"]!.GetValue<string>());
        if (provider == "AzureOpenAI")
        {
            Assert.Equal("/openai/deployments/my-deployment/chat/completions", received.Path);
            Assert.Contains("api-version=", received.Query, StringComparison.Ordinal);
            Assert.Equal(ApiKey, received.Headers["api-key"]);
        }
        else
        {
            Assert.Equal("/v1/chat/completions", received.Path);
            Assert.Equal("gpt-4o-mini", body["model"]!.GetValue<string>());
            Assert.Equal($"Bearer {ApiKey}", received.Headers["Authorization"]);
        }

        var record = await host.GetRecordAsync(client, done.GetProperty("requestId").GetString()!);
        Assert.Equal("ok", record.GetProperty("status").GetString());
        Assert.Equal(FakeOpenAiServer.PromptTokens, record.GetProperty("tokens").GetProperty("input").GetInt64());
        Assert.Equal(FakeOpenAiServer.CachedTokens, record.GetProperty("tokens").GetProperty("cachedInput").GetInt64());

        // The provider's HTTP call is an http step nested under its llm_api_call, named by method and server, never the
        // URL; no retrieval with a real provider unless configured.
        var steps = record.GetProperty("steps").EnumerateArray()
            .Select(s => (Name: s.GetProperty("name").GetString()!, Kind: s.GetProperty("kind").GetString()!, Depth: s.GetProperty("depth").GetInt32()))
            .ToList();
        Assert.Equal(
            [("preprocessing", "step", 0), ("llm_api_call", "llm_call", 0), ($"POST {fake.BaseAddress.Host}", "http", 1), ("response_parsing", "step", 0), ("saving", "step", 0)],
            steps);
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Chat_ProviderFailure_ClassifiedAnsweredCountedAndRecorded(string provider, FakeBehavior behavior, bool stream, string errorType, int status)
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.Behavior = behavior;
        fake.SlowDelay = TimeSpan.FromSeconds(3);
        var settings = ProviderSettings(fake, provider);
        if (behavior == FakeBehavior.Slow)
        {
            settings["Llm:Timeout"] = "00:00:01";
        }

        await using var host = new ChatServiceHost(settings);
        using var client = host.CreateClient();
        var route = stream ? "/api/chat/stream" : "/api/chat";

        using var response = await host.PostChatAsync(client, new { message = "Hello" }, stream);

        Assert.Equal(status, (int)response.StatusCode);
        JsonElement problem;
        if (status == 200)
        {
            // The failure came after the stream had started: deltas, then an error event with problem details.
            var events = ServerSentEvents.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("delta", events[0].Event);
            Assert.Equal("error", events[^1].Event);
            Assert.DoesNotContain(events, e => e.Event == "done");
            problem = events[^1].Data;
            Assert.Equal(502, problem.GetProperty("status").GetInt32());
        }
        else
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        }

        Assert.Equal(errorType, problem.GetProperty("errorType").GetString());
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("traceId").GetString()!);
        if (behavior == FakeBehavior.RateLimited)
        {
            Assert.Equal(FakeOpenAiServer.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("Retry-After").Single());
        }

        var record = await host.GetRecordAsync(client, problem.GetProperty("requestId").GetString()!);
        Assert.Equal("error", record.GetProperty("status").GetString());
        Assert.Equal(errorType, record.GetProperty("errorType").GetString());
        Assert.Equal(route, record.GetProperty("route").GetString());

        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_total", ("status", "error")) == 1);
        var metrics = await host.ScrapeAsync(client);
        Assert.Equal(1, metrics.Sum("llm_errors_total", ("route", route), ("error_type", errorType)));
        Assert.Equal(1, metrics.Sum("llm_errors_total"));
    }

    [Fact]
    public async Task Chat_ApiKey_NeverInLogsSpansHistoryMetricsOrErrors()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        await using var host = new ChatServiceHost(ProviderSettings(fake, "OpenAI"));
        using var client = host.CreateClient();
        var bodies = new List<string>();

        foreach (var behavior in new[] { FakeBehavior.Ok, FakeBehavior.Unauthorized, FakeBehavior.InternalError, FakeBehavior.StreamCut })
        {
            fake.Behavior = behavior;
            foreach (var stream in new[] { false, true })
            {
                using var response = await host.PostChatAsync(client, new { message = "Hello" }, stream);
                bodies.Add(await response.Content.ReadAsStringAsync());
            }
        }

        Assert.Equal(8, fake.Received.Count);
        Assert.All(fake.Received, r => Assert.Equal($"Bearer {ApiKey}", r.Headers["Authorization"])); // the key was in use
        await Eventually.TrueAsync(async () => (await host.GetAllRecordsAsync(client)).Count == 8);

        var history = JsonSerializer.Serialize(await host.GetAllRecordsAsync(client));
        var metrics = (await host.ScrapeAsync(client)).Text;
        var spans = string.Join('\n', host.Spans.ToArray().Select(a =>
            $"{a.DisplayName} {a.StatusDescription} {string.Join(',', a.TagObjects.Select(t => $"{t.Key}={t.Value}"))} "
            + string.Join(',', a.Events.Select(e => $"{e.Name} {string.Join(',', e.Tags.Select(t => $"{t.Key}={t.Value}"))}"))));
        var logs = host.Logs.AllText;

        Assert.Contains("authentication", history, StringComparison.Ordinal); // the failures were recorded
        Assert.Contains("llm.request", spans, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, spans, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, history, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, metrics, StringComparison.Ordinal);
        Assert.All(bodies, b => Assert.DoesNotContain(ApiKey, b, StringComparison.Ordinal));
    }

    [Fact]
    public void Start_AzureOpenAIWithoutEndpoint_FailsWithAClearMessage()
    {
        using var host = new ChatServiceHost(Settings(("Llm:Provider", "AzureOpenAI"), ("Llm:ApiKey", ApiKey)));

        var error = Assert.ThrowsAny<Exception>(() => host.CreateClient());

        var validation = FindInner<OptionsValidationException>(error);
        Assert.Contains("Llm:Endpoint", validation.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, validation.Message, StringComparison.Ordinal);
    }

    internal static Dictionary<string, string?> ProviderSettings(FakeOpenAiServer fake, string provider) => Settings(
        ("Llm:Provider", provider),
        ("Llm:Endpoint", provider == "OpenAI" ? new Uri(fake.BaseAddress, "/v1").ToString() : fake.BaseAddress.ToString()),
        ("Llm:ApiKey", ApiKey),
        ("Llm:Model", "gpt-4o-mini"),
        ("Llm:Deployment", "my-deployment"),
        ("Llm:MaxOutputTokens", "321"),
        ("Llm:Temperature", "0.3"),
        ("Llm:SystemPrompt", "Be brief."),

        // Far above a loaded machine's slowest answer: only a test of timeouts sets a short one.
        ("Llm:Timeout", "00:00:30"));

    private static T FindInner<T>(Exception exception)
        where T : Exception
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is T found)
            {
                return found;
            }

            if (current is AggregateException aggregate && aggregate.InnerExceptions.Count > 0)
            {
                return FindInner<T>(aggregate.InnerExceptions[0]);
            }
        }

        throw new Xunit.Sdk.XunitException($"No {typeof(T).Name} in {exception}");
    }
}
