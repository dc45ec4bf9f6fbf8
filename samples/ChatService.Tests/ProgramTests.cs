using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatService.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using static ChatService.Tests.Infrastructure.ChatServiceHost;

namespace ChatService.Tests;

[Collection(ProcessWideTelemetry.Name)]
public sealed class ProgramTests
{
    [Fact]
    public async Task GetHealth_Running_Healthy()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task GetRoot_Browser_RedirectsToTheChatPage()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

        using var response = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/llm-apm/#/chat", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task GetInfo_Dashboard_AnnouncesTheChatEndpoints()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();

        var info = await client.GetFromJsonAsync<JsonElement>("/llm-apm/api/info");

        Assert.Equal("/api/chat", info.GetProperty("chat").GetProperty("endpoint").GetString());
        Assert.Equal("/api/chat/stream", info.GetProperty("chat").GetProperty("streamEndpoint").GetString());
    }

    [Fact]
    public async Task PostChat_EvaluationOn_TheAnswerGetsARefusalScore()
    {
        await using var host = new ChatServiceHost(new() { ["ChatService:Evaluation"] = "true", ["LlmApm:Evaluation:SampleRate"] = "1" });
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "Hello" });
        var requestId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("requestId").GetString()!;

        // Off the request path: the score comes after the answer. The simulated answer does not refuse.
        JsonElement scores = default;
        await Eventually.TrueAsync(async () => (scores = (await host.GetRecordAsync(client, requestId)).GetProperty("scores")).GetArrayLength() == 1);
        var score = scores[0];
        Assert.Equal(("refusal", "false", "positive"), (score.GetProperty("name").GetString(), score.GetProperty("label").GetString(), score.GetProperty("polarity").GetString()));
    }

    [Fact]
    public async Task PostChat_EvaluationOff_NoScore()
    {
        await using var host = new ChatServiceHost(new() { ["LlmApm:Evaluation:SampleRate"] = "1" });
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "Hello" });
        var requestId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("requestId").GetString()!;

        Assert.Equal(0, (await host.GetRecordAsync(client, requestId)).GetProperty("scores").GetArrayLength());
        var evaluations = await client.GetFromJsonAsync<JsonElement>("/llm-apm/api/requests?route=llm-apm.evaluation");
        Assert.Equal(0, evaluations.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task PostChat_OverTheClientRateLimit_Answers429WithRetryAfter()
    {
        await using var host = new ChatServiceHost(Settings(("ChatService:RateLimit:PermitLimit", "2"), ("ChatService:RateLimit:Window", "00:01:00")));
        using var client = host.CreateClient();

        using var first = await host.PostChatAsync(client, new { message = "one" });
        using var second = await host.PostChatAsync(client, new { message = "two" }, stream: true);
        using var third = await host.PostChatAsync(client, new { message = "three" });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("application/problem+json", third.Content.Headers.ContentType?.MediaType);
        var retryAfter = int.Parse(third.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
        var problem = await third.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.True(problem.TryGetProperty("requestId", out _));

        // A refused chat never reached the LLM endpoint.
        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_total") == 2);
        Assert.Equal(2, (await host.GetAllRecordsAsync(client)).Count);
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("false", false)]
    public async Task AspNetCoreInstrumentation_Setting_TurnsTheHttpServerMetricsOnOrOff(string? setting, bool expected)
    {
        await using var host = new ChatServiceHost(setting is null ? Settings(("ChatService:DurableHistory", "false")) : Settings(("ChatService:AspNetCoreInstrumentation", setting), ("ChatService:DurableHistory", "false")));
        using var client = host.CreateClient();

        using var reply = await host.PostChatAsync(client, new { message = "hello" });
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);

        // LLM-APM records either way; the HTTP server histogram is there only with the instrumentation.
        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_total") == 1);
        var scrape = await host.ScrapeAsync(client);
        Assert.Equal(expected, scrape.Has("http_server_request_duration_seconds_count"));

        // The history does not depend on another instrumentation's spans.
        await Eventually.TrueAsync(async () => (await host.GetAllRecordsAsync(client)).Count == 1);
    }

    [Fact]
    public async Task PostChat_UserAndTenantHeaders_ReachTheRecordTheSpendAndTheMetrics()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = JsonContent.Create(new { message = "Hello" }) };
        request.Headers.Add("X-User-Id", "ann@acme.example");
        request.Headers.Add("X-Tenant-Id", "acme");
        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var requestId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("requestId").GetString()!;

        // appsettings.json's LlmApm:Attribution names the two headers.
        var record = await host.GetRecordAsync(client, requestId);
        Assert.Equal("ann@acme.example", record.GetProperty("userId").GetString());
        Assert.Equal("acme", record.GetProperty("tenantId").GetString());

        var spend = await client.GetFromJsonAsync<JsonElement>("/llm-apm/api/spend?window=1h&by=user&tenant=acme");
        var row = Assert.Single(spend.GetProperty("rows").EnumerateArray());
        Assert.Equal("ann@acme.example", row.GetProperty("key").GetString());
        Assert.Equal(1, row.GetProperty("requests").GetInt64());

        // acme is a declared tenant: a metric tag by name; the user never is one.
        var scrape = await host.ScrapeAsync(client);
        Assert.True(scrape.Has("llm_requests_total", ("tenant", "acme")));
        Assert.DoesNotContain("ann@acme.example", scrape.Text, StringComparison.Ordinal);
    }
}
