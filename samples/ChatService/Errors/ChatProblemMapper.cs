using System.ClientModel;
using System.Text.Json;
using ChatService.Chat;
using LlmApm.Otel;
using Microsoft.AspNetCore.Mvc;

namespace ChatService.Errors;

/// <summary>
/// Maps a failure to its HTTP answer. Rate limit → 429 with <c>Retry-After</c>; timeout → 504; provider unavailable,
/// network failure, provider's authentication refusal or an unreadable answer → 502; content filter → 422; context
/// window → 413; invalid request → 400. Details never quote the provider's answer or the service's credentials.
/// </summary>
internal sealed class ChatProblemMapper(IServiceProvider services)
{
    public const int StatusClientClosedRequest = 499;

    // Classified as LLM-APM classifies for error.type, so that the answer and the telemetry agree.
    private readonly LlmApmInstrumentation apm = services.GetRequiredService<LlmApmInstrumentation>();

    public ChatProblem Map(Exception exception, CancellationToken requestAborted)
    {
        switch (exception)
        {
            case ChatFailureException failure:
                return new ChatProblem(failure.StatusCode, failure.Title, failure.Message, failure.ErrorType, null);
            case BadHttpRequestException badRequest:
                return new ChatProblem(badRequest.StatusCode, "Bad request", badRequest.Message, LlmErrorTypes.InvalidRequest, null);
        }

        var type = this.apm.ClassifyError(exception, requestAborted);
        return type switch
        {
            LlmErrorTypes.RateLimited => new ChatProblem(
                StatusCodes.Status429TooManyRequests,
                "The LLM provider is rate limiting this service",
                "Try again after the number of seconds in Retry-After.",
                type,
                RetryAfterOf(exception) ?? "1"),
            LlmErrorTypes.Timeout => new ChatProblem(
                StatusCodes.Status504GatewayTimeout, "The LLM provider did not answer in time", "The call to the model timed out.", type, null),
            LlmErrorTypes.ProviderUnavailable => new ChatProblem(
                StatusCodes.Status502BadGateway, "The LLM provider is unavailable", "The model's provider failed or is overloaded.", type, null),
            LlmErrorTypes.Network => new ChatProblem(
                StatusCodes.Status502BadGateway, "The LLM provider could not be reached", "The connection to the model's provider failed.", type, null),
            LlmErrorTypes.Authentication => new ChatProblem(
                StatusCodes.Status502BadGateway,
                "The service could not authenticate to its LLM provider",
                "The service's own LLM credentials were refused; this is not a problem with your request.",
                type,
                null),
            LlmErrorTypes.ContentFiltered => new ChatProblem(
                StatusCodes.Status422UnprocessableEntity, "The content was filtered", "The provider's content filter blocked the message or the reply.", type, null),
            LlmErrorTypes.ContextLengthExceeded => new ChatProblem(
                StatusCodes.Status413PayloadTooLarge, "The message does not fit the model's context window", "Send a shorter message.", type, null),
            LlmErrorTypes.InvalidRequest => new ChatProblem(
                StatusCodes.Status400BadRequest, "The LLM provider rejected the request", "The model's provider refused the request as invalid.", type, null),
            LlmErrorTypes.Cancelled => new ChatProblem(
                StatusClientClosedRequest, "The request was cancelled", "The client closed the request.", type, null),
            _ when IsProviderAnswerFailure(exception) => new ChatProblem(
                StatusCodes.Status502BadGateway, "The LLM provider gave an unexpected answer", "The model's answer could not be read.", type, null),
            _ => new ChatProblem(
                StatusCodes.Status500InternalServerError, "Internal server error", "The chat failed unexpectedly.", type, null),
        };
    }

    public static ProblemDetails ToProblemDetails(ChatProblem problem) => new()
    {
        Status = problem.Status,
        Title = problem.Title,
        Detail = problem.Detail,
        Extensions = { ["errorType"] = problem.ErrorType },
    };

    private static bool IsProviderAnswerFailure(Exception exception)
        => exception is ClientResultException or JsonException or HttpRequestException or IOException or FormatException
            || (exception.InnerException is { } inner && IsProviderAnswerFailure(inner));

    private static string? RetryAfterOf(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is ClientResultException result
                && result.GetRawResponse() is { } response
                && response.Headers.TryGetValue("Retry-After", out var value)
                && !string.IsNullOrWhiteSpace(value))
            {
                // Seconds or an HTTP date: both are valid Retry-After values; pass on the provider's own.
                return value.Trim();
            }
        }

        return null;
    }
}
