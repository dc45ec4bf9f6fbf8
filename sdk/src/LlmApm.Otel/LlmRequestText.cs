namespace LlmApm.Otel;

/// <summary>
/// The free text a request holds only when it has some: its error message, its captured content and the content
/// handed to evaluators. Made on first use, so that a request without any keeps one reference instead of five
/// (a request with 4 steps: 4,064 -> 4,032 B); none of it is ever a tag or a log line.
/// </summary>
internal sealed class LlmRequestText
{
    public string? ErrorMessage { get; set; }

    public string? CapturedPrompt { get; set; }

    public string? CapturedCompletion { get; set; }

    public string? EvaluationPrompt { get; set; }

    public string? EvaluationCompletion { get; set; }
}
