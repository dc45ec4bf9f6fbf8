using System.Globalization;
using System.Net;
using System.Text.Json;
using LlmApm.Otel.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>Budgets over real HTTP: an endpoint marked <c>.WithLlmApm()</c> whose call a hard budget refuses answers 429
/// problem details with <c>Retry-After</c>; <c>GET api/budgets</c> lists the spend; <c>/metrics</c> has the ratio.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class LlmApmBudgetsApiTests
{
    private const string Model = "budget-http-model";

    [Fact]
    public async Task WithLlmApm_HardBudgetSpent_Answers429WithRetryAfterAndTheBudgetsApiAndMetricsShowIt()
    {
        await using var app = await StartAsync(o =>
        {
            o.Budgets["http-daily"] = new LlmBudgetOptions { LimitUsd = 1m, Period = LlmBudgetPeriod.Day, Hard = true };
            o.Budgets["http-tenants"] = new LlmBudgetOptions { Scope = LlmBudgetScope.Tenant, LimitUsd = 4m };
        });

        using (var first = await app.Client.PostAsync("/chat?tenant=acme", null))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using var refused = await app.Client.PostAsync("/chat?tenant=acme", null);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var tomorrow = DateTimeOffset.UtcNow.Date.AddDays(1);
        var retryAfter = refused.Headers.RetryAfter?.Delta ?? throw new InvalidOperationException("no Retry-After");
        Assert.InRange(retryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        using (var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()))
        {
            var root = problem.RootElement;
            Assert.Equal(429, root.GetProperty("status").GetInt32());
            Assert.Equal("http-daily", root.GetProperty("budget").GetString());
            Assert.Equal(new DateTimeOffset(tomorrow, TimeSpan.Zero), DateTimeOffset.Parse(root.GetProperty("resetsAt").GetString()!, CultureInfo.InvariantCulture));
            Assert.Contains("'http-daily'", root.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(root.GetProperty("requestId").GetString()));
        }

        var records = await app.WaitForHistoryAsync(2);
        Assert.Single(records, r => r.ErrorType == LlmErrorTypes.BudgetExceeded);

        using (var budgets = JsonDocument.Parse(await app.Client.GetStringAsync("/llm-apm/api/budgets")))
        {
            var list = budgets.RootElement.GetProperty("budgets").EnumerateArray().ToList();
            Assert.Equal(2, list.Count);
            var daily = list.Single(b => b.GetProperty("name").GetString() == "http-daily");
            Assert.Equal("global", daily.GetProperty("scope").GetString());
            Assert.Equal(JsonValueKind.Null, daily.GetProperty("key").ValueKind);
            Assert.Equal("day", daily.GetProperty("period").GetString());
            Assert.Equal(1m, daily.GetProperty("limitUsd").GetDecimal());
            Assert.Equal(1m, daily.GetProperty("spentUsd").GetDecimal());
            Assert.Equal(1d, daily.GetProperty("ratio").GetDouble());
            Assert.True(daily.GetProperty("hard").GetBoolean());
            Assert.Equal(new DateTimeOffset(tomorrow, TimeSpan.Zero), daily.GetProperty("resetsAt").GetDateTimeOffset());
            var tenants = list.Single(b => b.GetProperty("name").GetString() == "http-tenants");
            Assert.Equal(("tenant", "acme", 0.25d), (tenants.GetProperty("scope").GetString(), tenants.GetProperty("key").GetString(), tenants.GetProperty("ratio").GetDouble()));
        }

        var metrics = await app.Client.GetStringAsync("/metrics");
        Assert.Equal(1, PrometheusText.Value(metrics, "llm_budget_spent_ratio", "budget=\"http-daily\""));
        Assert.Equal(0.25, PrometheusText.Value(metrics, "llm_budget_spent_ratio", "budget=\"http-tenants\""));
        Assert.Equal(1, PrometheusText.Value(metrics, "llm_errors_total", "route=\"/chat\"", "error_type=\"budget_exceeded\""));
    }

    [Fact]
    public async Task Budgets_NoneConfigured_AnswersAnEmptyList()
    {
        await using var app = await StartAsync(_ => { });
        using var budgets = JsonDocument.Parse(await app.Client.GetStringAsync("/llm-apm/api/budgets"));
        Assert.Empty(budgets.RootElement.GetProperty("budgets").EnumerateArray());
    }

    private static Task<TestApp> StartAsync(Action<LlmApmOptions> budgets)
        => TestApp.StartAsync(
            map: a => a.MapPost("/chat", async (HttpContext context, IChatClient client) =>
            {
                LlmRequest.Current!.TenantId = context.Request.Query["tenant"];
                var response = await client.GetResponseAsync("hello");
                return TypedResults.Ok(new { reply = response.Text });
            }).WithLlmApm(),
            configure: b =>
            {
                b.Services.Configure<LlmApmOptions>(o =>
                {
                    // 10 input tokens at 0.1 USD each: one call costs 1 USD.
                    o.Prices[Model] = new LlmModelPrice { InputPerMillion = 100_000m };
                    budgets(o);
                });
                b.Services.AddChatClient(new FakeChatClient { Model = Model, Metadata = new("fake", null, Model) }).UseLlmApm();
            });
}
