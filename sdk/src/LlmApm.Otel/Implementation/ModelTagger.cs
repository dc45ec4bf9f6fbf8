using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace LlmApm.Otel;

/// <summary>Maps model names to bounded metric tag values: priced or declared models keep their (family) name,
/// anything else is <c>other</c>. Unpriced names kept for <c>llm.price.misses</c> are capped as well.</summary>
internal sealed class ModelTagger
{
    private const int MaxMissNames = 16;
    private const int MaxMissNameLength = 64;

    private readonly LlmPriceTable prices;
    private readonly FrozenSet<string> declared;
    private readonly ConcurrentDictionary<string, string> cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> missNames = new(StringComparer.OrdinalIgnoreCase);

    public ModelTagger(LlmPriceTable prices, IEnumerable<string> declaredModels)
    {
        this.prices = prices;
        this.declared = declaredModels.Where(m => !string.IsNullOrWhiteSpace(m)).Select(m => m.Trim())
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Returns the metric tag value of <paramref name="model"/>.</summary>
    public string Tag(string? model)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            return LlmApmInstruments.UnknownModel;
        }

        if (this.cache.TryGetValue(model, out var tag))
        {
            return tag;
        }

        if (this.prices.TryGetPrice(model, out var canonical, out _))
        {
            tag = canonical;
        }
        else if (this.declared.TryGetValue(model.Trim(), out var declaredName))
        {
            tag = declaredName;
        }
        else
        {
            // Unknown names are not cached: the cache only ever holds the bounded set of known models.
            return LlmApmInstruments.OtherModel;
        }

        this.cache.TryAdd(model, tag);
        return tag;
    }

    /// <summary>The tag value for a price miss: the first few unpriced names verbatim, then <c>other</c>.</summary>
    public string MissTag(string? model)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            return LlmApmInstruments.UnknownModel;
        }

        var name = model.Trim();
        if (name.Length > MaxMissNameLength)
        {
            return LlmApmInstruments.OtherModel;
        }

        if (this.missNames.ContainsKey(name))
        {
            return name;
        }

        if (this.missNames.Count < MaxMissNames && this.missNames.TryAdd(name, 0))
        {
            return name;
        }

        return this.missNames.ContainsKey(name) ? name : LlmApmInstruments.OtherModel;
    }
}
