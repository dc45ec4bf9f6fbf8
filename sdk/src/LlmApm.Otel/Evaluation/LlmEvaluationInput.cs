namespace LlmApm.Otel;

/// <summary>What an evaluator is given about a finished request. The prompt and completion are in memory only: they
/// are the captured content when content capture is on, else what the host handed to
/// <see cref="LlmRequest.SetEvaluationContent"/>, and nothing here is stored or exported.</summary>
public sealed class LlmEvaluationInput
{
    internal LlmEvaluationInput(string requestId, string route, string? model, string status, string? prompt, string? completion)
    {
        this.RequestId = requestId;
        this.Route = route;
        this.Model = model;
        this.Status = status;
        this.Prompt = prompt;
        this.Completion = completion;
    }

    /// <summary>Gets the request's id.</summary>
    public string RequestId { get; }

    /// <summary>Gets the request's route.</summary>
    public string Route { get; }

    /// <summary>Gets the request's model, or <c>null</c>.</summary>
    public string? Model { get; }

    /// <summary>Gets the request's status: <c>ok</c> or <c>error</c>.</summary>
    public string Status { get; }

    /// <summary>Gets the prompt, or <c>null</c> when neither capture nor the host provided it.</summary>
    public string? Prompt { get; }

    /// <summary>Gets the completion, or <c>null</c> when neither capture nor the host provided it.</summary>
    public string? Completion { get; }
}
