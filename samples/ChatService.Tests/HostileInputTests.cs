using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChatService.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using static ChatService.Tests.Infrastructure.ChatServiceHost;

namespace ChatService.Tests;

/// <summary>Bad and hostile requests get the right 4xx problem details, cost nothing and leave the service healthy.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class HostileInputTests
{
    private static readonly string[] ChatRoutes = ["/api/chat", "/api/chat/stream"];

    /// <summary>(name, content type, body, status) for both chat endpoints.</summary>
    private static IEnumerable<(string Name, string ContentType, byte[] Body, int Status)> ChatCases()
    {
        static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
        const string Json = "application/json";
        yield return ("empty message", Json, Utf8("""{"message":""}"""), 400);
        yield return ("whitespace message", Json, Utf8("""{"message":"  \n\t  "}"""), 400);
        yield return ("no message", Json, Utf8("{}"), 400);
        yield return ("null message", Json, Utf8("""{"message":null}"""), 400);
        yield return ("message over 32 KB", Json, Utf8($$"""{"message":"{{new string('a', (32 * 1024) + 1)}}"}"""), 400);
        yield return ("body over 1 MB", Json, Utf8($$"""{"message":"{{new string('a', 1100 * 1024)}}"}"""), 413);
        yield return ("malformed JSON", Json, Utf8("""{"message": """), 400);
        yield return ("empty body", Json, [], 400);
        yield return ("JSON null", Json, Utf8("null"), 400);
        yield return ("JSON array", Json, Utf8("""["hi"]"""), 400);
        yield return ("JSON string", Json, Utf8("\"hi\""), 400);
        yield return ("message is a number", Json, Utf8("""{"message":42}"""), 400);
        yield return ("message is an array", Json, Utf8("""{"message":["a"]}"""), 400);
        yield return ("message is an object", Json, Utf8("""{"message":{"text":"a"}}"""), 400);
        yield return ("conversationId is a number", Json, Utf8("""{"message":"hi","conversationId":5}"""), 400);
        yield return ("conversationId not an id", Json, Utf8("""{"message":"hi","conversationId":"not-an-id"}"""), 400);
        yield return ("conversationId path", Json, Utf8("""{"message":"hi","conversationId":"../../etc/passwd"}"""), 400);
        yield return ("conversationId SQL", Json, Utf8("""{"message":"hi","conversationId":"' OR 1=1 --"}"""), 400);
        yield return ("conversationId 33 hex digits", Json, Utf8("""{"message":"hi","conversationId":"0123456789abcdef0123456789abcdef0"}"""), 400);
        yield return ("NUL in message", Json, Utf8("""{"message":"a\u0000b"}"""), 400);
        yield return ("escape in message", Json, Utf8("""{"message":"a\u001b[2Jb"}"""), 400);
        yield return ("raw control character", Json, Utf8("{\"message\":\"a\u0001b\"}"), 400);
        yield return ("lone surrogate", Json, Utf8("""{"message":"a\ud800b"}"""), 400);
        yield return ("invalid UTF-8", Json, [.. Utf8("""{"message":"a"""), 0xC3, 0x28, 0xFF, .. Utf8("\"}")], 400);
        yield return ("nesting 10000 deep", Json, Utf8("""{"message":"hi","x":""" + new string('[', 10_000) + new string(']', 10_000) + "}"), 400);
        yield return ("text/plain", "text/plain", Utf8("""{"message":"hi"}"""), 415);
        yield return ("form", "application/x-www-form-urlencoded", Utf8("message=hi"), 415);
    }

    private static IEnumerable<(string Path, int Status)> HistoryCases() =>
    [
        ("/llm-apm/api/requests?limit=-1", 400),
        ("/llm-apm/api/requests?limit=0", 400),
        ("/llm-apm/api/requests?limit=1000000000", 400),
        ("/llm-apm/api/requests?limit=abc", 400),
        ("/llm-apm/api/requests?before=garbage", 400),
        ("/llm-apm/api/requests?before=-1%20OR%201=1", 400),
        ("/llm-apm/api/requests?status=%3Cscript%3E", 400),
        ("/llm-apm/api/summary?window=7d", 400),
        ("/llm-apm/api/timeseries?window=-1", 400),
        ("/llm-apm/api/requests/not-a-known-id", 404),
        ("/llm-apm/api/requests/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404),
    ];

    /// <summary>Raw request paths (set as is, not normalized by a client) at the dashboard's static files.</summary>
    private static readonly string[] TraversalPaths =
    [
        "/llm-apm/../appsettings.json",
        "/llm-apm/../../appsettings.json",
        "/llm-apm/assets/../../appsettings.json",
        "/llm-apm/%2e%2e/appsettings.json",
        "/llm-apm/%2e%2e%2fappsettings.json",
        "/llm-apm/..%2fappsettings.json",
        "/llm-apm/..%5cappsettings.json",
        "/llm-apm/..\\appsettings.json",
        "/llm-apm/assets\\..\\..\\appsettings.json",
        "/llm-apm/.env",
        "/llm-apm//etc/passwd",
        "/llm-apm/C:/Windows/win.ini",
        "/llm-apm/ChatService.dll",
    ];

    [Fact]
    public async Task HostileRequests_Table_RightProblemDetailsNoCostServiceHealthy()
    {
        await using var host = new ChatServiceHost(Settings(("ChatService:MaxRequestBodyBytes", "1048576")));
        using var client = host.CreateClient();
        var failures = new List<string>();

        foreach (var route in ChatRoutes)
        {
            foreach (var (name, contentType, body, status) in ChatCases())
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
                using var response = await client.PostAsync(route, content);
                await CheckProblemAsync($"{route} {name}", response, status, failures);
            }
        }

        foreach (var (path, status) in HistoryCases())
        {
            using var response = await client.GetAsync(path);
            await CheckProblemAsync(path, response, status, failures);
        }

        foreach (var path in TraversalPaths)
        {
            var context = await host.Server.SendAsync(c =>
            {
                c.Request.Method = HttpMethods.Get;
                c.Request.Path = new PathString(path);
            });
            var text = await new StreamReader(context.Response.Body).ReadToEndAsync();
            var label = $"raw {path}";
            if (context.Response.StatusCode != 404)
            {
                failures.Add($"{label}: status {context.Response.StatusCode}, expected 404");
            }

            if (text.Contains("AllowedHosts", StringComparison.Ordinal) || text.Contains("root:", StringComparison.Ordinal))
            {
                failures.Add($"{label}: a file outside the dashboard was served");
            }

            CheckProblemBody(label, context.Response.ContentType, text, 404, failures);
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));

        // None of it reached the LLM: no tokens, no cost.
        var metrics = await host.ScrapeAsync(client);
        Assert.Equal(0, metrics.Sum("llm_tokens_total"));
        Assert.Equal(0, metrics.Sum("llm_cost_usd_total"));
        Assert.Equal(0, metrics.Sum("llm_price_misses_total"));

        // The service is healthy and a normal chat works; so does one with unknown fields, which are ignored.
        using (var health = await client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        using var chat = await host.PostChatAsync(client, new { message = "Still there?", model = "gpt-4o", max_tokens = 100000, role = "system", isAdmin = true });
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        var reply = await chat.Content.ReadFromJsonAsync<JsonElement>(Json);
        Assert.Equal("gpt-4o-mini", reply.GetProperty("model").GetString());
        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_cost_usd_total") > 0);
    }

    [Fact]
    public async Task PostChat_BurstFromOneClient_429ForItOtherClientUnaffected()
    {
        await using var host = new ChatServiceHost(Settings(("ChatService:RateLimit:PermitLimit", "3"), ("ChatService:RateLimit:Window", "00:01:00")));
        using var client = host.CreateClient();

        var noisy = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            using var request = From("203.0.113.7", HttpMethod.Post, i % 2 == 0 ? "/api/chat" : "/api/chat/stream", JsonContent.Create(new { message = $"burst {i}" }));
            using var response = await client.SendAsync(request);
            noisy.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                var retryAfter = int.Parse(response.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
                Assert.InRange(retryAfter, 1, 60);
            }
        }

        var quiet = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var request = From("198.51.100.20", HttpMethod.Post, "/api/chat", JsonContent.Create(new { message = $"quiet {i}" }));
            using var response = await client.SendAsync(request);
            quiet.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], noisy);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK], quiet);
        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_total") == 6);
    }

    /// <summary>
    /// The worst bodies the size limits let through (64 KB, 32768 characters): runs without a space of one emoji, of
    /// many emoji, of CJK, of combining marks, of one letter, of spaces. Each is answered by its tokens (o200k, the
    /// default 16000-token window): accepted, or refused as <c>context_length_exceeded</c>. Their preprocessing CPU is
    /// measured by the PreprocessingBenchmarks of samples/ChatService.Benchmarks, not here.
    /// </summary>
    public static TheoryData<string, int, string?> WorstBodies() => new()
    {
        { "one emoji x 15000 (15000 tokens)", 200, null },
        { "80 emoji x 15000 (28000 tokens)", 413, "context_length_exceeded" },
        { "CJK x 21000 (40000 tokens)", 413, "context_length_exceeded" },
        { "combining marks x 30000 (30000 tokens)", 413, "context_length_exceeded" },
        { "one letter x 32000 (4000 tokens)", 200, null },
        { "spaces x 32000 (250 tokens)", 200, null },
    };

    [Theory]
    [MemberData(nameof(WorstBodies))]
    public async Task PostChat_WorstAcceptedBody_AnsweredByItsTokens(string name, int status, string? errorType)
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();
        var message = WorstMessage(name);
        // Raw UTF-8, as a client that does not escape non-ASCII sends it: the most characters under the body limit.
        using var content = new StringContent($$"""{"message":"{{message}}"}""", Encoding.UTF8, "application/json");
        Assert.True(Encoding.UTF8.GetByteCount(message) <= 63_000 && message.Length <= 32 * 1024, name);

        using var response = await client.PostAsync("/api/chat", content);

        Assert.Equal(status, (int)response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        if (errorType is null)
        {
            Assert.True(answer.GetProperty("usage").GetProperty("inputTokens").GetInt64() > 200, name);
        }
        else
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(errorType, answer.GetProperty("errorType").GetString());
            Assert.Equal(0, (await host.ScrapeAsync(client)).Sum("llm_tokens_total"));
        }
    }

    [Theory]
    [InlineData("/api/chat")]
    [InlineData("/api/chat/stream")]
    public async Task PostChat_NotJson_415WithErrorTypeAndDetail(string route)
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();
        using var content = new StringContent("""{"message":"hi"}""", Encoding.UTF8, "text/plain");

        using var response = await client.PostAsync(route, content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        Assert.Equal("invalid_request", problem.GetProperty("errorType").GetString());
        Assert.Contains("application/json", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));
    }

    [Theory]
    [InlineData("utf-16", 415)]
    [InlineData("utf-32", 415)]
    [InlineData("iso-8859-1", 415)]
    [InlineData("utf-8", 200)]
    [InlineData("UTF8", 200)]
    public async Task PostChat_Charset_OnlyUtf8Read(string charset, int status)
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();
        var encoding = charset.StartsWith("utf-16", StringComparison.Ordinal) ? Encoding.Unicode
            : charset.StartsWith("utf-32", StringComparison.Ordinal) ? Encoding.UTF32
            : charset.StartsWith("iso", StringComparison.Ordinal) ? Encoding.Latin1 : Encoding.UTF8;
        using var content = new ByteArrayContent(encoding.GetBytes("""{"message":"café über"}"""));
        content.Headers.TryAddWithoutValidation("Content-Type", $"application/json; charset={charset}");

        using var response = await client.PostAsync("/api/chat", content);

        Assert.Equal(status, (int)response.StatusCode);
        if (status == 415)
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
            Assert.Equal("invalid_request", problem.GetProperty("errorType").GetString());
            Assert.Contains("UTF-8", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal(0, (await host.ScrapeAsync(client)).Sum("llm_tokens_total"));
        }
    }

    private static string WorstMessage(string name) => name.Split(' ')[0] switch
    {
        "one" when name.Contains("emoji", StringComparison.Ordinal) => string.Concat(Enumerable.Repeat("\U0001F600", 15_000)),
        "80" => string.Concat(Enumerable.Range(0, 15_000).Select(i => char.ConvertFromUtf32(0x1F600 + (i % 80)))),
        "CJK" => new string([.. Enumerable.Range(0, 21_000).Select(i => (char)(0x4E00 + (i * 7919 % 20_000)))]),
        "combining" => "a" + new string('\u0301', 30_000),
        "one" => new string('a', 32_000),
        "spaces" => "a" + new string(' ', 32_000 - 2) + "b",
        _ => throw new ArgumentException(name),
    };

    private static async Task CheckProblemAsync(string label, HttpResponseMessage response, int status, List<string> failures)
    {
        if ((int)response.StatusCode != status)
        {
            failures.Add($"{label}: status {(int)response.StatusCode}, expected {status}");
        }

        CheckProblemBody(label, response.Content.Headers.ContentType?.ToString(), await response.Content.ReadAsStringAsync(), status, failures);
    }

    private static void CheckProblemBody(string label, string? contentType, string body, int status, List<string> failures)
    {
        if (contentType is null || !contentType.StartsWith("application/problem+json", StringComparison.Ordinal))
        {
            failures.Add($"{label}: content type {contentType}");
            return;
        }

        try
        {
            var problem = JsonDocument.Parse(body).RootElement;
            if (problem.GetProperty("status").GetInt32() != status)
            {
                failures.Add($"{label}: problem status {problem.GetProperty("status")}");
            }

            if (!problem.TryGetProperty("requestId", out var requestId) || string.IsNullOrEmpty(requestId.GetString()))
            {
                failures.Add($"{label}: no requestId");
            }

            if (!problem.TryGetProperty("traceId", out var traceId) || traceId.GetString() is not { Length: 32 })
            {
                failures.Add($"{label}: no traceId");
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            failures.Add($"{label}: not problem details: {body[..Math.Min(body.Length, 200)]}");
        }
    }
}
