using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChatService.Tests.Infrastructure;
using LlmApm.Otel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using static ChatService.Tests.Infrastructure.ChatServiceHost;

namespace ChatService.Tests;

/// <summary>Who reaches what, what is kept of a conversation, response headers, and bounded metric tags, at the level
/// of the whole service.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed partial class SecurityTests
{
    private const string Remote = "203.0.113.50";

    [Fact]
    public async Task HistoryApi_NonLoopbackClient_Forbidden_ChatStillWorks()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();

        foreach (var path in new[] { "/llm-apm/api/requests", "/llm-apm/api/summary", "/llm-apm/api/stream", "/llm-apm/api/info", "/llm-apm/" })
        {
            using var denied = await client.SendAsync(From(Remote, HttpMethod.Get, path));
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
            Assert.Equal("application/problem+json", denied.Content.Headers.ContentType?.MediaType);
            Assert.DoesNotContain("\"items\"", await denied.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var chat = await client.SendAsync(From(Remote, HttpMethod.Post, "/api/chat", JsonContent.Create(new { message = "hello from afar" })));
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);

        using var local = await client.SendAsync(From("127.0.0.1", HttpMethod.Get, "/llm-apm/api/requests"));
        Assert.Equal(HttpStatusCode.OK, local.StatusCode);
        using var localV6 = await client.SendAsync(From("::1", HttpMethod.Get, "/llm-apm/api/requests"));
        Assert.Equal(HttpStatusCode.OK, localV6.StatusCode);
    }

    [Fact]
    public async Task Content_CaptureOffByDefault_PromptAndReplyNowhere()
    {
        const string Canary = "zebra-quartz-canary-7731";
        var data = TempFolder.Create("capture-off");
        try
        {
            var replies = new List<string>();
            string logs, spans, metrics, history;
            await using (var host = new ChatServiceHost(Settings(("ChatService:DataPath", data))))
            {
                using var client = host.CreateClient();
                foreach (var stream in new[] { false, true })
                {
                    using var response = await host.PostChatAsync(client, new { message = $"{Canary} please, my mail is canary.owner@example.com" }, stream);
                    replies.Add(await response.Content.ReadAsStringAsync());
                }

                using (var failed = await host.PostChatAsync(client, new { message = $"/fault provider_unavailable {Canary}" }))
                {
                    Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
                    Assert.DoesNotContain(Canary, await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                }

                await Eventually.TrueAsync(async () => (await host.GetAllRecordsAsync(client)).Count == 3);
                history = JsonSerializer.Serialize(await host.GetAllRecordsAsync(client));
                metrics = (await host.ScrapeAsync(client)).Text;
                spans = SpanText(host);
                logs = host.Logs.AllText;
                var info = await client.GetFromJsonAsync<JsonElement>("/llm-apm/api/info", Json);
                Assert.False(info.GetProperty("contentCapture").GetBoolean());
            }

            Assert.All(replies, r => Assert.Contains(Canary, r, StringComparison.Ordinal)); // the reply quotes the prompt
            Assert.Contains("llm_api_call", history, StringComparison.Ordinal);
            Assert.Contains("\"content\":null", history, StringComparison.Ordinal);
            foreach (var (where, text) in new[] { ("logs", logs), ("spans", spans), ("metrics", metrics), ("history", history), ("database", DatabaseText(data)) })
            {
                Assert.False(text.Contains(Canary, StringComparison.Ordinal), $"the prompt is in the {where}");
                Assert.False(text.Contains("canary.owner@example.com", StringComparison.Ordinal), $"the e-mail is in the {where}");
                Assert.False(text.Contains("You wrote", StringComparison.Ordinal), $"the reply is in the {where}");
            }
        }
        finally
        {
            TempFolder.Delete(data);
        }
    }

    [Fact]
    public async Task Content_CaptureOn_EmailAndKeysRedactedInHistory()
    {
        const string Email = "alice.smith@example.com";
        const string Key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
        await using var host = new ChatServiceHost(Settings(("LlmApm:CaptureMessageContent", "true")));
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = $"Write to {Email} using {Key} today" });
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        Assert.Contains(Email, reply.GetProperty("reply").GetString(), StringComparison.Ordinal); // the simulator quotes it

        var record = await host.GetRecordAsync(client, reply.GetProperty("requestId").GetString()!);
        var content = record.GetProperty("content");
        var prompt = content.GetProperty("prompt").GetString()!;
        var completion = content.GetProperty("completion").GetString()!;
        Assert.Contains("Write to", prompt, StringComparison.Ordinal);
        Assert.Contains("[REDACTED]", prompt, StringComparison.Ordinal);
        Assert.Contains("[REDACTED]", completion, StringComparison.Ordinal);
        var everything = record.GetRawText() + SpanText(host);
        Assert.DoesNotContain(Email, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, everything, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-proj-AbCd", everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboard_Responses_CarrySecurityHeadersAndNoCors()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();

        foreach (var path in new[] { "/llm-apm/", "/llm-apm/api/requests", "/llm-apm/api/info" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Origin", "https://evil.example");
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var csp = string.Join(';', response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"), path);
        }

        // A preflight from another origin is not approved, for the history API or the chat.
        foreach (var path in new[] { "/llm-apm/api/requests", "/api/chat" })
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, path);
            preflight.Headers.Add("Origin", "https://evil.example");
            preflight.Headers.Add("Access-Control-Request-Method", path == "/api/chat" ? "POST" : "GET");
            using var answer = await client.SendAsync(preflight);
            Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"), path);
            Assert.False(answer.Headers.Contains("Access-Control-Allow-Methods"), path);
        }

        using var chat = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = JsonContent.Create(new { message = "hi" }) };
        chat.Headers.Add("Origin", "https://evil.example");
        using var chatResponse = await client.SendAsync(chat);
        Assert.False(chatResponse.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Dashboard_AccessKeyInQuery_RedirectDoesNotRepeatIt()
    {
        const string Key = "k3y-that-must-not-travel-0123456789";
        await using var host = new ChatServiceHost(Settings(("LlmApm:Dashboard:AccessKey", Key)));
        using var client = host.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        using var response = await client.SendAsync(From(Remote, HttpMethod.Get, "/llm-apm?key=" + Key));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/llm-apm/", response.Headers.Location?.OriginalString);
        Assert.DoesNotContain(Key, response.Headers.ToString(), StringComparison.Ordinal);

        // The key was taken once: its cookie (not the key) lets the redirected request in.
        var cookie = response.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        using var follow = From(Remote, HttpMethod.Get, "/llm-apm/");
        follow.Headers.Add("Cookie", cookie);
        using var page = await client.SendAsync(follow);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public void AppSettings_ShipWithoutSecrets()
    {
        var path = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(ChatServiceProcess.ServiceAssembly))!, "..", "..", "appsettings.json");
        var text = File.ReadAllText(Path.GetFullPath(path));
        using var settings = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });

        Assert.Equal(string.Empty, settings.RootElement.GetProperty("Llm").GetProperty("ApiKey").GetString());
        Assert.DoesNotMatch(SecretLike(), text);
        Assert.DoesNotContain("AccessKey", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Password", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Metrics_TenThousandModelNames_BoundedSeries()
    {
        const int Calls = 10_000;
        await using var host = new ChatServiceHost(Settings(("ChatService:DurableHistory", "false"), ("LlmApm:HistoryCapacity", "100")));
        using var client = host.CreateClient();
        var apm = host.Services.GetRequiredService<LlmApmInstrumentation>();
        var chat = host.Services.GetRequiredService<IChatClient>();
        var options = new ChatOptions { ModelId = "gpt-4o-mini", MaxOutputTokens = 16 };

        // The service's own pipeline (retries, UseLlmApm, the simulator) inside its own requests, each call
        // reporting another model name: random, dated ids of priced families, and a few known ones.
        for (var i = 0; i < Calls; i++)
        {
            var model = (i % 10) switch
            {
                0 => "gpt-4o-2024-08-06",
                1 => "gpt-4o-mini",
                _ => $"random-model-{i}-{Guid.NewGuid():N}",
            };
            using var request = apm.StartRequest("/api/chat");
            await chat.GetResponseAsync([new ChatMessage(ChatRole.User, $"/model {model} /echo ok")], options);
        }

        var metrics = await host.ScrapeAsync(client);
        Assert.Equal(Calls, metrics.Sum("llm_requests_total"));
        string[] known = ["gpt-4o-mini", "gpt-4o", "other"];
        foreach (var name in new[] { "llm_requests_total", "llm_tokens_total", "llm_cost_usd_total", "llm_request_latency_seconds_count", "llm_time_to_first_token_seconds_count" })
        {
            var models = metrics.Samples.Where(s => s.Name == name && s.Labels.ContainsKey("model")).Select(s => s.Labels["model"]).Distinct().ToList();
            Assert.All(models, m => Assert.Contains(m, known));
        }

        var misses = metrics.Samples.Where(s => s.Name == "llm_price_misses_total").Select(s => s.Labels["model"]).Distinct().ToList();
        Assert.InRange(misses.Count, 1, 17);
        Assert.Contains("other", misses);
        Assert.InRange(metrics.Samples.Count(s => s.Name.StartsWith("llm_", StringComparison.Ordinal)), 1, 400);
        Assert.InRange(metrics.Text.Length, 1, 400_000);
    }

    private static string SpanText(ChatServiceHost host) => string.Join('\n', host.Spans.ToArray().Select(a =>
        $"{a.DisplayName} {a.StatusDescription} {string.Join(',', a.TagObjects.Select(t => $"{t.Key}={t.Value}"))} "
        + string.Join(',', a.Events.Select(e => $"{e.Name} {string.Join(',', e.Tags.Select(t => $"{t.Key}={t.Value}"))}"))
        + string.Join(',', a.Baggage.Select(b => $"{b.Key}={b.Value}"))));

    /// <summary>Every byte of the history database (main file and WAL), as Latin-1 text.</summary>
    private static string DatabaseText(string folder)
    {
        var text = new StringBuilder();
        foreach (var file in Directory.GetFiles(folder))
        {
            text.Append(Encoding.Latin1.GetString(File.ReadAllBytes(file)));
        }

        Assert.Contains("llm_api_call", text.ToString(), StringComparison.Ordinal); // the records were written
        return text.ToString();
    }

    [GeneratedRegex(@"(sk-[A-Za-z0-9_\-]{16,})|(AKIA[0-9A-Z]{16})|([A-Za-z0-9+/]{40,}={0,2})|(Bearer\s+[A-Za-z0-9._\-]{16,})")]
    private static partial Regex SecretLike();
}
