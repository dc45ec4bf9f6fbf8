using System.Diagnostics;
using ChatService.Chat;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace ChatService.Errors;

/// <summary>The <c>requestId</c> and <c>traceId</c> extensions of every problem the service answers.</summary>
internal static class ProblemDetailsExtensions
{
    /// <summary>
    /// Completes every problem the service answers: the request ids, and for a refusal made before any endpoint ran
    /// (routing's 415 for a body that is not JSON) the <c>errorType</c> and <c>detail</c> that the chat's own
    /// problems carry.
    /// </summary>
    public static void Complete(HttpContext context, ProblemDetails problem)
    {
        AddRequestIds(context, problem);
        if (problem.Status == StatusCodes.Status415UnsupportedMediaType && !problem.Extensions.ContainsKey("errorType"))
        {
            problem.Extensions["errorType"] = LlmApm.Otel.LlmErrorTypes.InvalidRequest;
            problem.Detail ??= "Send the chat as application/json in UTF-8.";
        }
    }

    /// <summary>
    /// <c>requestId</c>: the LLM request id (the history record's id) on the chat endpoints, else the HTTP request's id;
    /// <c>traceId</c>: the W3C trace id (32 hex digits).
    /// </summary>
    public static void AddRequestIds(HttpContext context, ProblemDetails problem)
    {
        problem.Extensions["requestId"] = context.Items.TryGetValue(ChatHandler.RequestIdItem, out var id) && id is string llmId
            ? llmId
            : context.TraceIdentifier;
        var activity = context.Features.Get<IHttpActivityFeature>()?.Activity ?? Activity.Current;
        if (activity is not null)
        {
            problem.Extensions["traceId"] = activity.TraceId.ToHexString();
        }
    }
}
