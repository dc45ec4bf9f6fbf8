namespace ChatService.Chat;

/// <summary>
/// A chat the service refuses or cannot complete for a reason of its own (validation, size, context window, a
/// filtered reply): it carries the LLM-APM error type and the HTTP answer.
/// </summary>
public sealed class ChatFailureException : Exception
{
    public ChatFailureException()
        : this("invalid_request", StatusCodes.Status400BadRequest, "Bad request", "The request is not valid.")
    {
    }

    public ChatFailureException(string message)
        : this("invalid_request", StatusCodes.Status400BadRequest, "Bad request", message)
    {
    }

    public ChatFailureException(string message, Exception innerException)
        : base(message, innerException)
    {
        this.ErrorType = "invalid_request";
        this.StatusCode = StatusCodes.Status400BadRequest;
        this.Title = "Bad request";
    }

    public ChatFailureException(string errorType, int statusCode, string title, string detail, Exception? innerException = null)
        : base(detail, innerException)
    {
        this.ErrorType = errorType;
        this.StatusCode = statusCode;
        this.Title = title;
    }

    /// <summary>Gets the LLM-APM error type (<c>invalid_request</c>, <c>context_length_exceeded</c>, ...).</summary>
    public string ErrorType { get; }

    /// <summary>Gets the HTTP status of the answer.</summary>
    public int StatusCode { get; }

    /// <summary>Gets the problem title.</summary>
    public string Title { get; }

    /// <summary>The LLM-APM error classifier for this exception.</summary>
    public static string? Classify(Exception exception) => (exception as ChatFailureException)?.ErrorType;
}
