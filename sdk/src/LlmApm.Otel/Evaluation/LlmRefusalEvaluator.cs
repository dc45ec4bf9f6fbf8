using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;

namespace LlmApm.Otel;

/// <summary>
/// A judge-free evaluator: whether the answer refuses or deflects the question ("I can't help with that", "As an AI
/// ..."). Its boolean metric <c>refusal</c> is <c>true</c> for a refusal, interpreted as failed (a negative score).
/// An ordinary <see cref="IEvaluator"/>: add it with <c>services.AddLlmApmEvaluator(new LlmRefusalEvaluator())</c>.
/// </summary>
public sealed partial class LlmRefusalEvaluator : IEvaluator
{
    /// <summary>The metric's name: <c>refusal</c>.</summary>
    public const string MetricName = "refusal";

    /// <inheritdoc/>
    public IReadOnlyCollection<string> EvaluationMetricNames { get; } = [MetricName];

    /// <inheritdoc/>
    public ValueTask<EvaluationResult> EvaluateAsync(
        IEnumerable<ChatMessage> messages,
        ChatResponse modelResponse,
        ChatConfiguration? chatConfiguration = null,
        IEnumerable<EvaluationContext>? additionalContext = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelResponse);
        var text = modelResponse.Text ?? string.Empty;

        // The opening of the answer is where a refusal is said; a long answer that quotes one later is not one.
        var opening = text.Length > 300 ? text[..300] : text;
        var refused = Refusal().IsMatch(opening);
        var metric = new BooleanMetric(MetricName, refused, refused ? "The answer opens with a refusal." : "The answer does not refuse.")
        {
            Interpretation = new EvaluationMetricInterpretation(
                refused ? EvaluationRating.Unacceptable : EvaluationRating.Good,
                failed: refused,
                reason: refused ? "refused" : null),
        };
        return ValueTask.FromResult(new EvaluationResult(metric));
    }

    [GeneratedRegex(
        @"\b(I\s*(?:'m|am)\s+(?:sorry|unable|not able)|I\s*(?:can(?:no|')t|cannot|won't|will not|must decline)\s+(?:help|assist|answer|provide|do|comply)|as an AI(?: language model)?\b|I(?:'m| am) not allowed to)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex Refusal();
}
