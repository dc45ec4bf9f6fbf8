using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>RFC 9457 problem details with the <c>requestId</c> and <c>traceId</c> extensions of docs/api.md.</summary>
internal static class LlmApmProblems
{
    public static ProblemHttpResult Create(HttpContext context, int statusCode, string title, string? detail = null)
    {
        var problem = new ProblemDetails
        {
            Status = statusCode,
            Title = title,
            Detail = detail,
            Instance = context.Request.PathBase.Add(context.Request.Path).Value,
        };
        problem.Extensions["requestId"] = context.TraceIdentifier;
        problem.Extensions["traceId"] = TraceIdOf(context);
        return TypedResults.Problem(problem);
    }

    public static ProblemHttpResult BadRequest(HttpContext context, string detail)
        => Create(context, StatusCodes.Status400BadRequest, "Invalid request parameter.", detail);

    public static ProblemHttpResult NotFound(HttpContext context, string detail)
        => Create(context, StatusCodes.Status404NotFound, "Not found.", detail);

    /// <summary>503 for a history store that cannot answer: the service runs, the history does not.</summary>
    public static ProblemHttpResult HistoryUnavailable(HttpContext context, string detail)
        => Create(context, StatusCodes.Status503ServiceUnavailable, "The request history is unavailable.", detail);

    private static string? TraceIdOf(HttpContext context)
    {
        var activity = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>()?.Activity ?? Activity.Current;
        return activity is null || activity.TraceId == default ? null : activity.TraceId.ToHexString();
    }
}
