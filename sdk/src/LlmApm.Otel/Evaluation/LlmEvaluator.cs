using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;

namespace LlmApm.Otel;

/// <summary>One registered evaluator, as the runner calls it: a host's delegate or a Microsoft.Extensions.AI.Evaluation
/// <see cref="IEvaluator"/>.</summary>
internal abstract class LlmEvaluator(string name)
{
    public string Name { get; } = name;

    /// <summary>Whether the evaluator needs the prompt and completion: it is skipped for a request without them.</summary>
    public abstract bool NeedsContent { get; }

    public abstract ValueTask<IEnumerable<LlmScore>> EvaluateAsync(LlmEvaluationInput input, CancellationToken cancellationToken);
}

/// <summary>A host's own evaluator.</summary>
internal sealed class DelegateLlmEvaluator(string name, Func<LlmEvaluationInput, CancellationToken, ValueTask<IEnumerable<LlmScore>>> evaluate)
    : LlmEvaluator(name)
{
    public override bool NeedsContent => false;

    public override ValueTask<IEnumerable<LlmScore>> EvaluateAsync(LlmEvaluationInput input, CancellationToken cancellationToken)
        => evaluate(input, cancellationToken);
}

/// <summary>A Microsoft.Extensions.AI.Evaluation evaluator: its metrics become scores named after them, its
/// interpretation (failed or not) their polarity. The judge is made at the first evaluation: a judge client with
/// <c>UseLlmApm()</c> needs the instrumentation, which is what creates the evaluators.</summary>
internal sealed class ExtensionsAILlmEvaluator(IEvaluator evaluator, Func<ChatConfiguration?> judgeFactory)
    : LlmEvaluator(Truncate(evaluator.GetType().Name, LlmScore.MaxSourceLength))
{
    private readonly Lazy<ChatConfiguration?> judge = new(judgeFactory);

    public ExtensionsAILlmEvaluator(IEvaluator evaluator, ChatConfiguration? judge)
        : this(evaluator, () => judge)
    {
    }

    public override bool NeedsContent => true;

    public override async ValueTask<IEnumerable<LlmScore>> EvaluateAsync(LlmEvaluationInput input, CancellationToken cancellationToken)
    {
        ChatMessage[] messages = [new(ChatRole.User, input.Prompt ?? string.Empty)];
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, input.Completion ?? string.Empty));
        var result = await evaluator.EvaluateAsync(messages, response, this.judge.Value, additionalContext: null, cancellationToken).ConfigureAwait(false);
        var scores = new List<LlmScore>(result.Metrics.Count);
        foreach (var metric in result.Metrics.Values)
        {
            if (ToScore(metric, this.Name) is { } score)
            {
                scores.Add(score);
            }
        }

        return scores;
    }

    /// <summary>A metric as a score, or <c>null</c> for a metric without a value (the evaluator could not tell).</summary>
    internal static LlmScore? ToScore(EvaluationMetric metric, string source)
    {
        var name = ScoreName(metric.Name);
        var comment = metric.Reason is null ? null : Truncate(metric.Reason, LlmScore.MaxCommentLength);
        var polarity = metric.Interpretation is { } interpretation
            ? interpretation.Failed ? LlmScorePolarity.Negative : LlmScorePolarity.Positive
            : (LlmScorePolarity?)null;
        return metric switch
        {
            BooleanMetric { Value: { } yes } => LlmScore.Boolean(name, yes, comment, source, polarity),
            NumericMetric { Value: { } number } when double.IsFinite(number) => LlmScore.Numeric(name, number, null, comment, source, polarity ?? LlmScorePolarity.Neutral),
            StringMetric { Value: { } label } when !string.IsNullOrWhiteSpace(label) => LlmScore.Categorical(name, Truncate(label, LlmScore.MaxLabelLength), comment, source, polarity ?? LlmScorePolarity.Neutral),
            _ => null,
        };
    }

    /// <summary>A metric name as a score name: letters, digits, <c>_</c>, <c>-</c> and <c>.</c>, lowercase, at most 64.</summary>
    internal static string ScoreName(string metricName)
    {
        var name = new StringBuilder(Math.Min(metricName.Length, LlmScore.MaxNameLength));
        foreach (var c in metricName.Trim())
        {
            if (name.Length == LlmScore.MaxNameLength)
            {
                break;
            }

            name.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? char.ToLowerInvariant(c) : '_');
        }

        return name.Length == 0 ? "evaluation" : name.ToString();
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
