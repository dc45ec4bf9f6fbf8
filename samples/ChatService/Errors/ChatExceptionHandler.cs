using ChatService.Chat;
using Microsoft.AspNetCore.Diagnostics;

namespace ChatService.Errors;

/// <summary>Answers every failure that escapes an endpoint with problem details (<see cref="ChatProblemMapper"/>).</summary>
internal sealed partial class ChatExceptionHandler(ChatProblemMapper mapper, IProblemDetailsService problemDetails, ILogger<ChatExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var problem = mapper.Map(exception, httpContext.RequestAborted);
        if (exception is not ChatFailureException && problem.ErrorType != LlmApm.Otel.LlmErrorTypes.Cancelled)
        {
            // Only the type and the exception's type: a provider's message may quote the request.
            LogFailure(logger, httpContext.Request.Path, problem.ErrorType, exception.GetType().FullName, problem.Status);
        }

        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        httpContext.Response.StatusCode = problem.Status;
        if (problem.RetryAfter is not null)
        {
            httpContext.Response.Headers.RetryAfter = problem.RetryAfter;
        }

        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = ChatProblemMapper.ToProblemDetails(problem),
            Exception = exception,
        }).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path} failed: {ErrorType} ({ExceptionType}), answered {Status}")]
    private static partial void LogFailure(ILogger logger, string path, string errorType, string? exceptionType, int status);
}
