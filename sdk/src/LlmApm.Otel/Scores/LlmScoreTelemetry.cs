using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LlmApm.Otel;

/// <summary>Records a score where telemetry shows it: <c>llm.scores</c> by route, model, bounded name and polarity,
/// and the GenAI conventions' <c>gen_ai.evaluation.result</c> event on the request's span.</summary>
internal static class LlmScoreTelemetry
{
    /// <summary>The event name of the GenAI semantic conventions.</summary>
    public const string EventName = "gen_ai.evaluation.result";
    public const string EvaluationName = "gen_ai.evaluation.name";
    public const string ScoreValue = "gen_ai.evaluation.score.value";
    public const string ScoreLabel = "gen_ai.evaluation.score.label";
    public const string Explanation = "gen_ai.evaluation.explanation";

    /// <summary>The span name of a score given after its request's span ended: a child of that span, holding the event.</summary>
    public const string ScoreSpanName = "llm.score";

    public const string TagName = "name";
    public const string TagPolarity = "polarity";

    internal static readonly Counter<long> Scores = LlmApmInstruments.Meter.CreateCounter<long>(
        LlmApmTelemetry.Metrics.Scores, "{score}", "Scores given to LLM requests (user feedback, evaluations), by route, model, score name and polarity.");

    /// <summary>Counts the score in <c>llm.scores</c>.</summary>
    public static void Count(LlmScore score, string routeTag, string modelTag, ScoreNameTagger names)
        => Scores.Add(1, new TagList
        {
            { LlmApmTelemetry.Attributes.TagRoute, routeTag },
            { LlmApmTelemetry.Attributes.TagModel, modelTag },
            { TagName, names.Tag(score.Name) },
            { TagPolarity, LlmScore.PolarityName(score.Polarity) },
        });

    /// <summary>Adds the <c>gen_ai.evaluation.result</c> event to <paramref name="span"/>. The comment is free text a user
    /// wrote: it goes on the span only when content capture is on.</summary>
    public static void AddEvent(Activity span, LlmScore score, bool captureContent)
    {
        var tags = new ActivityTagsCollection { [EvaluationName] = score.Name };
        if (score.Value is { } value)
        {
            tags[ScoreValue] = value;
        }

        if (score.Label is { } label)
        {
            tags[ScoreLabel] = label;
        }

        if (captureContent && score.Comment is { } comment)
        {
            tags[Explanation] = comment;
        }

        span.AddEvent(new ActivityEvent(EventName, score.Timestamp, tags));
    }

    /// <summary>Records a score given after its request's span ended: a short span, child of the request's span (in its
    /// trace), holding the event, so that a trace backend shows the judgement beside the request.</summary>
    public static void AddEventAfter(string traceId, string? spanId, string requestId, LlmScore score, bool captureContent)
    {
        if (spanId is null || !LlmApmInstruments.Source.HasListeners())
        {
            return;
        }

        ActivityContext parent;
        try
        {
            parent = new ActivityContext(ActivityTraceId.CreateFromString(traceId), ActivitySpanId.CreateFromString(spanId), ActivityTraceFlags.Recorded);
        }
        catch (ArgumentOutOfRangeException)
        {
            return; // an id a store kept in another shape: no trace to join
        }

        using var span = LlmApmInstruments.Source.StartActivity(ScoreSpanName, ActivityKind.Internal, parent);
        if (span is null)
        {
            return;
        }

        span.SetTag(LlmApmTelemetry.Attributes.RequestId, requestId);
        AddEvent(span, score, captureContent);
    }
}

/// <summary>Bounds the <c>name</c> tag of <c>llm.scores</c> as models are bounded: the declared names
/// (<see cref="LlmApmOptions.ScoreNames"/>) and the first <see cref="MaxNames"/> others keep their name, any further
/// one is <c>other</c>.</summary>
internal sealed class ScoreNameTagger(IEnumerable<string> declared)
{
    internal const int MaxNames = 32;
    internal const string Other = "other";

    private readonly HashSet<string> declared = new(declared.Where(n => !string.IsNullOrWhiteSpace(n)).Append(LlmScore.UserFeedback), StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> seen = new(StringComparer.Ordinal);
    private int count;

    public string Tag(string name)
    {
        if (this.declared.Contains(name) || this.seen.ContainsKey(name))
        {
            return name;
        }

        if (Interlocked.Increment(ref this.count) <= MaxNames)
        {
            if (!this.seen.TryAdd(name, 0))
            {
                Interlocked.Decrement(ref this.count);
            }

            return name;
        }

        Interlocked.Decrement(ref this.count);
        return this.seen.ContainsKey(name) ? name : Other;
    }
}
