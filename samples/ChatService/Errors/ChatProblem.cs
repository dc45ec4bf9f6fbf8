namespace ChatService.Errors;

/// <summary>How a failed chat is answered: HTTP status, problem title and detail, error type, <c>Retry-After</c>.</summary>
internal sealed record ChatProblem(int Status, string Title, string Detail, string ErrorType, string? RetryAfter);
