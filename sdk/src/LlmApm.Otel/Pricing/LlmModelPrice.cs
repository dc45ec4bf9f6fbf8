namespace LlmApm.Otel;

/// <summary>The price of a model in US dollars per million tokens.</summary>
public sealed class LlmModelPrice
{
    /// <summary>Gets or sets the price of one million input (prompt) tokens.</summary>
    public decimal InputPerMillion { get; set; }

    /// <summary>Gets or sets the price of one million cached input tokens (cache reads). Default: <c>null</c>,
    /// which prices cached input tokens at <see cref="InputPerMillion"/>.</summary>
    public decimal? CachedInputPerMillion { get; set; }

    /// <summary>Gets or sets the price of one million input tokens written to the provider's prompt cache (Anthropic
    /// bills them above the input price). Default: <c>null</c>, which prices them at <see cref="InputPerMillion"/>.</summary>
    public decimal? CacheWriteInputPerMillion { get; set; }

    /// <summary>Gets or sets the price of one million output (completion) tokens, reasoning tokens included.</summary>
    public decimal OutputPerMillion { get; set; }
}
