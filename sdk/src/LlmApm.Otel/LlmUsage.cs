namespace LlmApm.Otel;

/// <summary>Token counts of one LLM call or of a whole request.</summary>
/// <param name="InputTokens">Input (prompt) tokens, cached ones included.</param>
/// <param name="OutputTokens">Output (completion) tokens, reasoning ones included.</param>
/// <param name="CachedInputTokens">The part of the input tokens served from the provider's cache.</param>
/// <param name="ReasoningTokens">The part of the output tokens spent on reasoning.</param>
/// <param name="Estimated">Whether some counts were estimated locally because the provider reported none.</param>
public readonly record struct LlmUsage(long InputTokens, long OutputTokens, long CachedInputTokens = 0, long ReasoningTokens = 0, bool Estimated = false)
{
    /// <summary>Gets the part of the input tokens written to the provider's prompt cache (Anthropic's cache creation),
    /// priced at the cache-write rate where the provider bills one.</summary>
    public long CacheWriteInputTokens { get; init; }

    /// <summary>Gets the sum of input and output tokens.</summary>
    public long TotalTokens => this.InputTokens + this.OutputTokens;
}
