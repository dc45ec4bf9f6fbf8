using System.Globalization;

namespace LlmApm.Otel;

/// <summary>What kind of value a <see cref="LlmScore"/> holds.</summary>
public enum LlmScoreKind
{
    /// <summary>A number in <see cref="LlmScore.Value"/> (a rating, a probability), perhaps with a label.</summary>
    Numeric,

    /// <summary>A yes or no: <see cref="LlmScore.Value"/> is 1 or 0 and <see cref="LlmScore.Label"/> <c>true</c> or <c>false</c>.</summary>
    Boolean,

    /// <summary>A category in <see cref="LlmScore.Label"/> only.</summary>
    Label,
}

/// <summary>Whether a score says the answer was good: the bounded <c>polarity</c> tag of <c>llm_scores_total</c>, and
/// what the request list's "negative only" filter and the feedback ratio read.</summary>
public enum LlmScorePolarity
{
    /// <summary>Neither good nor bad (a measurement such as a length).</summary>
    Neutral,

    /// <summary>The answer was good.</summary>
    Positive,

    /// <summary>The answer was bad.</summary>
    Negative,
}

/// <summary>
/// A named judgement of one request's answer: a user's thumbs up or down, an annotator's label, an evaluator's number.
/// Attach one with <see cref="LlmRequest.AddScore"/> while the request runs, or with
/// <see cref="LlmApmInstrumentation.AddScore"/> after it, by the request's id. Immutable; the factories check the
/// bounds (name, label, comment and source lengths) and throw <see cref="ArgumentException"/> past them.
/// </summary>
public sealed class LlmScore : IEquatable<LlmScore>
{
    /// <summary>The name of the score that the dashboard's thumbs up and down give: <c>user_feedback</c>, a boolean;
    /// the feedback ratio of the Overview and of the alert rules counts it.</summary>
    public const string UserFeedback = "user_feedback";

    /// <summary>The longest name: 64 characters of letters, digits, <c>_</c>, <c>-</c> and <c>.</c>.</summary>
    public const int MaxNameLength = 64;

    /// <summary>The longest label, 64 characters.</summary>
    public const int MaxLabelLength = 64;

    /// <summary>The longest comment, 1,000 characters.</summary>
    public const int MaxCommentLength = 1000;

    /// <summary>The longest source, 128 characters.</summary>
    public const int MaxSourceLength = 128;

    private LlmScore(string name, LlmScoreKind kind, double? value, string? label, LlmScorePolarity polarity, string? comment, string? source, DateTimeOffset? timestamp)
    {
        this.Name = CheckName(name);
        this.Kind = kind;
        this.Value = value;
        this.Label = Check(label, MaxLabelLength, nameof(label));
        this.Polarity = polarity;
        this.Comment = Check(comment, MaxCommentLength, nameof(comment));
        this.Source = Check(source, MaxSourceLength, nameof(source));
        this.Timestamp = (timestamp ?? DateTimeOffset.UtcNow).ToUniversalTime();
    }

    /// <summary>Gets the score's name, such as <c>user_feedback</c> or <c>refusal</c>.</summary>
    public string Name { get; }

    /// <summary>Gets the kind of value.</summary>
    public LlmScoreKind Kind { get; }

    /// <summary>Gets the number: the value of a numeric score, 1 or 0 for a boolean one, <c>null</c> for a label.</summary>
    public double? Value { get; }

    /// <summary>Gets the label (<c>true</c>/<c>false</c> for a boolean score), or <c>null</c>.</summary>
    public string? Label { get; }

    /// <summary>Gets whether the score says the answer was good.</summary>
    public LlmScorePolarity Polarity { get; }

    /// <summary>Gets a comment or explanation, or <c>null</c>. Kept in the history; on spans only with content capture.</summary>
    public string? Comment { get; }

    /// <summary>Gets who or what gave the score (<c>user</c>, an evaluator's name), or <c>null</c>. Never a metric tag.</summary>
    public string? Source { get; }

    /// <summary>Gets when the score was given.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>A yes/no score, positive when <paramref name="value"/> is <c>true</c> unless <paramref name="polarity"/> says otherwise.</summary>
    /// <param name="name">The name.</param>
    /// <param name="value">The value.</param>
    /// <param name="comment">A comment, or <c>null</c>.</param>
    /// <param name="source">Who gave it, or <c>null</c>.</param>
    /// <param name="polarity">The polarity; by default positive for <c>true</c>, negative for <c>false</c>.</param>
    /// <param name="timestamp">When; by default now.</param>
    /// <returns>The score.</returns>
    public static LlmScore Boolean(string name, bool value, string? comment = null, string? source = null, LlmScorePolarity? polarity = null, DateTimeOffset? timestamp = null)
        => new(name, LlmScoreKind.Boolean, value ? 1 : 0, value ? "true" : "false", polarity ?? (value ? LlmScorePolarity.Positive : LlmScorePolarity.Negative), comment, source, timestamp);

    /// <summary>A numeric score, with an optional label that says what the number means.</summary>
    /// <param name="name">The name.</param>
    /// <param name="value">The value: a finite number.</param>
    /// <param name="label">A label, or <c>null</c>.</param>
    /// <param name="comment">A comment, or <c>null</c>.</param>
    /// <param name="source">Who gave it, or <c>null</c>.</param>
    /// <param name="polarity">The polarity. Default: neutral.</param>
    /// <param name="timestamp">When; by default now.</param>
    /// <returns>The score.</returns>
    public static LlmScore Numeric(string name, double value, string? label = null, string? comment = null, string? source = null, LlmScorePolarity polarity = LlmScorePolarity.Neutral, DateTimeOffset? timestamp = null)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A score's value must be a finite number.");
        }

        return new(name, LlmScoreKind.Numeric, value, label, polarity, comment, source, timestamp);
    }

    /// <summary>A categorical score.</summary>
    /// <param name="name">The name.</param>
    /// <param name="label">The label: 1 to 64 characters.</param>
    /// <param name="comment">A comment, or <c>null</c>.</param>
    /// <param name="source">Who gave it, or <c>null</c>.</param>
    /// <param name="polarity">The polarity. Default: neutral.</param>
    /// <param name="timestamp">When; by default now.</param>
    /// <returns>The score.</returns>
    public static LlmScore Categorical(string name, string label, string? comment = null, string? source = null, LlmScorePolarity polarity = LlmScorePolarity.Neutral, DateTimeOffset? timestamp = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(label);
        return new(name, LlmScoreKind.Label, null, label, polarity, comment, source, timestamp);
    }

    /// <summary>The lowercase wire name of <paramref name="polarity"/>: the metric tag value.</summary>
    internal static string PolarityName(LlmScorePolarity polarity) => polarity switch
    {
        LlmScorePolarity.Positive => "positive",
        LlmScorePolarity.Negative => "negative",
        _ => "neutral",
    };

    /// <summary>The lowercase wire name of <paramref name="kind"/>.</summary>
    internal static string KindName(LlmScoreKind kind) => kind switch
    {
        LlmScoreKind.Boolean => "boolean",
        LlmScoreKind.Label => "label",
        _ => "numeric",
    };

    /// <inheritdoc/>
    public bool Equals(LlmScore? other)
        => other is not null
            && string.Equals(this.Name, other.Name, StringComparison.Ordinal)
            && this.Kind == other.Kind
            && Nullable.Equals(this.Value, other.Value)
            && string.Equals(this.Label, other.Label, StringComparison.Ordinal)
            && this.Polarity == other.Polarity
            && string.Equals(this.Comment, other.Comment, StringComparison.Ordinal)
            && string.Equals(this.Source, other.Source, StringComparison.Ordinal)
            && this.Timestamp == other.Timestamp;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => this.Equals(obj as LlmScore);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(this.Name, this.Kind, this.Value, this.Label, this.Polarity, this.Timestamp);

    /// <inheritdoc/>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{this.Name}={this.Label ?? this.Value?.ToString(CultureInfo.InvariantCulture)} ({PolarityName(this.Polarity)})");

    private static string CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            throw new ArgumentException($"A score's name must be 1 to {MaxNameLength} characters of letters, digits, '_', '-' or '.'.", nameof(name));
        }

        return name;
    }

    private static string? Check(string? text, int max, string parameter)
    {
        if (text is null)
        {
            return null;
        }

        if (text.Length > max)
        {
            throw new ArgumentException($"A score's {parameter} must be at most {max} characters.", parameter);
        }

        return text.Length == 0 ? null : text;
    }
}
