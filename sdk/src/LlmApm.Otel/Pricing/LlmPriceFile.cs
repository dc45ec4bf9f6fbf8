using System.Text.Json.Serialization;

namespace LlmApm.Otel;

/// <summary>The shipped price file (<c>Pricing/prices.json</c>): its date and its models. Other fields of the file
/// (schema version, currency, unit, note) are for its readers.</summary>
internal sealed class LlmPriceFile
{
    public string? Updated { get; init; }

    [JsonRequired]
    public Dictionary<string, Model> Models { get; init; } = [];

    /// <summary>A model's prices in US dollars per million tokens.</summary>
    internal sealed class Model
    {
        [JsonRequired]
        public decimal Input { get; init; }

        public decimal? CachedInput { get; init; }

        [JsonRequired]
        public decimal Output { get; init; }
    }
}
