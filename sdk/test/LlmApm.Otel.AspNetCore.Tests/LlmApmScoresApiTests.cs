using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary><c>POST api/requests/{id}/scores</c>, the scores of the request record, <c>api/requests?negative=true</c>,
/// <c>api/feedback</c> and <c>llm_scores_total</c> on a real scrape.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class LlmApmScoresApiTests
{
    [Fact]
    public async Task PostScore_ThumbsDown_ReachesRecordFilterFeedbackSpanAndScrape()
    {
        await using var app = await StartAsync();
        var first = await ChatAsync(app);
        var second = await ChatAsync(app);
        await app.WaitForHistoryAsync(2);

        using (var response = await app.Client.PostAsJsonAsync($"/llm-apm/api/requests/{first}/scores", new { name = "user_feedback", boolean = false, comment = "wrong", source = "dashboard" }))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("negative", body.RootElement.GetProperty("polarity").GetString());
            Assert.Equal("boolean", body.RootElement.GetProperty("kind").GetString());
        }

        using (var response = await app.Client.PostAsJsonAsync($"/llm-apm/api/requests/{second}/scores", new { name = "user_feedback", boolean = true }))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        using (var record = await GetJsonAsync(app, $"/llm-apm/api/requests/{first}"))
        {
            var score = Assert.Single(record.RootElement.GetProperty("scores").EnumerateArray());
            Assert.Equal("user_feedback", score.GetProperty("name").GetString());
            Assert.Equal(0, score.GetProperty("value").GetDouble());
            Assert.Equal("false", score.GetProperty("label").GetString());
            Assert.Equal("wrong", score.GetProperty("comment").GetString());
            Assert.Equal("dashboard", score.GetProperty("source").GetString());
        }

        using (var negative = await GetJsonAsync(app, "/llm-apm/api/requests?negative=true"))
        {
            var item = Assert.Single(negative.RootElement.GetProperty("items").EnumerateArray());
            Assert.Equal(first, item.GetProperty("id").GetString());
        }

        using (var feedback = await GetJsonAsync(app, "/llm-apm/api/feedback?window=5m"))
        {
            var row = Assert.Single(feedback.RootElement.GetProperty("rows").EnumerateArray());
            Assert.Equal(("/api/chat", "gpt-4o-mini", 1, 1, 0.5), (row.GetProperty("route").GetString(), row.GetProperty("model").GetString(), row.GetProperty("positive").GetInt64(), row.GetProperty("negative").GetInt64(), row.GetProperty("ratio").GetDouble()));
            Assert.Equal(0.5, feedback.RootElement.GetProperty("ratio").GetDouble());
        }

        var scoreSpan = Assert.Single(app.Spans(), s => s.DisplayName == "llm.score" && (string?)s.GetTagItem("llm.request.id") == first);
        var evaluation = Assert.Single(scoreSpan.Events);
        Assert.Equal("gen_ai.evaluation.result", evaluation.Name);
        Assert.Equal("user_feedback", evaluation.Tags.Single(t => t.Key == "gen_ai.evaluation.name").Value);
        Assert.DoesNotContain(evaluation.Tags, t => t.Key == "gen_ai.evaluation.explanation");

        var exposition = await app.Client.GetStringAsync("/metrics");
        Assert.Equal(1, PrometheusText.Value(exposition, "llm_scores_total", "route=\"/api/chat\"", "model=\"gpt-4o-mini\"", "name=\"user_feedback\"", "polarity=\"negative\""));
        Assert.Equal(1, PrometheusText.Value(exposition, "llm_scores_total", "route=\"/api/chat\"", "name=\"user_feedback\"", "polarity=\"positive\""));
    }

    [Theory]
    [InlineData("{\"name\":\"user_feedback\"}", "needs")]
    [InlineData("{\"name\":\"bad name\",\"boolean\":true}", "name")]
    [InlineData("{\"boolean\":true}", "name")]
    [InlineData("{\"name\":\"x\",\"boolean\":true,\"value\":1}", "alone")]
    [InlineData("{\"name\":\"x\",\"value\":1,\"polarity\":\"great\"}", "polarity")]
    [InlineData("{\"name\":\"x\",\"label\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "64")]
    [InlineData("{\"name\":\"x\",\"boolean\":\"yes\"}", "not a score")]
    [InlineData("not json", "not a score")]
    [InlineData("[]", "not a score")]
    [InlineData("null", "JSON object")]
    public async Task PostScore_BadBody_Is400ProblemWithRequestId(string body, string detail)
    {
        await using var app = await StartAsync();
        var id = await ChatAsync(app);
        await app.WaitForHistoryAsync(1);

        using var response = await app.Client.PostAsync($"/llm-apm/api/requests/{id}/scores", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(detail, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("requestId").GetString()));
        Assert.Empty(app.Instrumentation.History.Find(id)!.Scores);
    }

    [Fact]
    public async Task PostScore_CommentTooLongOrBodyTooLarge_Is400()
    {
        await using var app = await StartAsync();
        var id = await ChatAsync(app);
        await app.WaitForHistoryAsync(1);

        using var longComment = await app.Client.PostAsJsonAsync($"/llm-apm/api/requests/{id}/scores", new { name = "user_feedback", boolean = false, comment = new string('c', 1001) });
        Assert.Equal(HttpStatusCode.BadRequest, longComment.StatusCode);

        using var huge = await app.Client.PostAsync($"/llm-apm/api/requests/{id}/scores", new StringContent("{\"name\":\"x\",\"label\":\"" + new string('l', 20_000) + "\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
        Assert.Empty(app.Instrumentation.History.Find(id)!.Scores);
    }

    [Fact]
    public async Task PostScore_UnknownId_Is404Problem()
    {
        await using var app = await StartAsync();
        using var response = await app.Client.PostAsJsonAsync("/llm-apm/api/requests/0123456789abcdef0123456789abcdef/scores", new { name = "user_feedback", boolean = true });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task PostScore_NotJsonOrNotLoopback_IsRefused()
    {
        await using var app = await StartAsync();
        var id = await ChatAsync(app);
        await app.WaitForHistoryAsync(1);

        // A cross-site form post (text/plain, no preflight) cannot score.
        using var form = await app.Client.PostAsync($"/llm-apm/api/requests/{id}/scores", new StringContent("{\"name\":\"x\",\"boolean\":true}", Encoding.UTF8, "text/plain"));
        Assert.True(form.StatusCode == HttpStatusCode.UnsupportedMediaType, $"{form.StatusCode}: {await form.Content.ReadAsStringAsync()}");

        using var remote = new HttpRequestMessage(HttpMethod.Post, $"/llm-apm/api/requests/{id}/scores")
        {
            Content = JsonContent.Create(new { name = "user_feedback", boolean = true }),
        };
        remote.Headers.Remove(TestApp.RemoteIpHeader);
        remote.Headers.Add(TestApp.RemoteIpHeader, TestApp.NonLoopback);
        using var response = await app.Client.SendAsync(remote);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(app.Instrumentation.History.Find(id)!.Scores);
    }

    [Theory]
    [InlineData("/llm-apm/api/requests?negative=yes")]
    [InlineData("/llm-apm/api/feedback?window=2d")]
    public async Task Get_BadParameter_Is400(string path)
    {
        await using var app = await StartAsync();
        using var response = await app.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static Task<TestApp> StartAsync() => TestApp.StartAsync(map: a => a.MapPost("/api/chat", () =>
    {
        var request = LlmRequest.Current!;
        request.RecordUsage("gpt-4o-mini", new LlmUsage(10, 5));
        return Results.Ok(new { requestId = request.Id });
    }).WithLlmApm());

    private static async Task<string> ChatAsync(TestApp app)
    {
        using var response = await app.Client.PostAsync("/api/chat", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("requestId").GetString()!;
    }

    private static async Task<JsonDocument> GetJsonAsync(TestApp app, string path)
    {
        using var response = await app.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
