using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Budgets over HTTP (docs/api.md): <c>GET api/budgets</c>, and the 429 answer of an LLM endpoint whose call a
/// hard budget refused.</summary>
internal static class LlmApmBudgetsApi
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/budgets", IResult (HttpContext context) =>
            {
                var ledger = LlmApmHistoryApi.Instrumentation(context).Budgets;
                var budgets = ledger is null ? [] : ledger.Snapshot().Select(LlmApmWireBudget.From).ToList();
                return TypedResults.Json(new LlmApmBudgets(budgets), LlmApmAspNetCoreJsonContext.Default.LlmApmBudgets);
            })
            .WithName("LlmApmBudgets")
            .WithSummary("The spend of every configured budget in its current window: one entry per budget and key.")
            .Produces<LlmApmBudgets>();
    }

    /// <summary>Answers a call refused by a hard budget: 429 problem details naming the budget and when it resets, with
    /// <c>Retry-After</c> in seconds until then.</summary>
    public static Task WriteRefusalAsync(HttpContext context, LlmBudgetExceededException refused)
    {
        var now = (context.RequestServices.GetService(typeof(TimeProvider)) as TimeProvider ?? TimeProvider.System).GetUtcNow();
        var seconds = Math.Max(1, (long)Math.Ceiling((refused.ResetsAt - now).TotalSeconds));
        context.Response.Clear();
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problem = LlmApmProblems.Create(context, StatusCodes.Status429TooManyRequests, "The LLM budget is spent.", refused.Message);
        problem.ProblemDetails.Extensions["budget"] = refused.BudgetName;
        problem.ProblemDetails.Extensions["resetsAt"] = refused.ResetsAt.ToString("O", CultureInfo.InvariantCulture);
        return problem.ExecuteAsync(context);
    }
}
