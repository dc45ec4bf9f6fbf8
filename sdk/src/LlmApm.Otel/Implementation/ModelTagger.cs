using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace LlmApm.Otel;

/// <summary>Maps model names to bounded metric tag values: priced or declared models keep their (family) name,
/// anything else is <c>other</c>. Unpriced names kept for <c>llm.price.misses</c> are capped as well. A name is
/// resolved once to its tag and its price (<see cref="ResolvedModel"/>), so that a repeated model costs one
/// comparison with the last one, or one dictionary lookup.</summary>
internal sealed class ModelTagger
{
    /// <summary>The most model names resolved ahead of time. Priced and declared models are a bounded set, but a
    /// provider's answers can spell them in many ways (case, dates): beyond this many, names are resolved each time.</summary>
    internal const int MaxCachedNames = 1024;

    private const int MaxMissNames = 16;
    private const int MaxMissNameLength = 64;

    private static readonly ResolvedModel Unknown = new(string.Empty, LlmApmInstruments.UnknownModel, price: null);

    private readonly LlmPriceTable prices;
    private readonly FrozenSet<string> declared;
    private readonly ConcurrentDictionary<string, ResolvedModel> cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> missNames = new(StringComparer.OrdinalIgnoreCase);
    private int cached;
    private ResolvedModel? last;

    public ModelTagger(LlmPriceTable prices, IEnumerable<string> declaredModels)
    {
        this.prices = prices;
        this.declared = declaredModels.Where(m => !string.IsNullOrWhiteSpace(m)).Select(m => m.Trim())
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Gets how many names are resolved ahead of time (at most <see cref="MaxCachedNames"/>).</summary>
    internal int CachedNames => Volatile.Read(ref this.cached);

    /// <summary>Returns the metric tag value of <paramref name="model"/>.</summary>
    public string Tag(string? model) => this.Resolve(model).Tag;

    /// <summary>Returns the metric tag value and the price of <paramref name="model"/>.</summary>
    public ResolvedModel Resolve(string? model)
    {
        if (model is null)
        {
            return Unknown;
        }

        // A host nearly always calls one model: the last name resolved is compared first.
        var last = Volatile.Read(ref this.last);
        if (last is not null && string.Equals(last.Model, model, StringComparison.Ordinal))
        {
            return last;
        }

        var resolved = this.ResolveSlow(model);
        Volatile.Write(ref this.last, resolved);
        return resolved;
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

    private ResolvedModel ResolveSlow(string model)
    {
        if (this.cache.TryGetValue(model, out var known))
        {
            return known;
        }

        if (string.IsNullOrWhiteSpace(model))
        {
            return Unknown;
        }

        ResolvedModel resolved;
        if (this.prices.TryGetTokenPrice(model, out var canonical, out var price))
        {
            resolved = new ResolvedModel(model, canonical, price);
        }
        else if (this.declared.TryGetValue(model.Trim(), out var declaredName))
        {
            resolved = new ResolvedModel(model, declaredName, price: null);
        }
        else
        {
            // Unknown names are not kept (beyond the last one): they are not a bounded set.
            return new ResolvedModel(model, LlmApmInstruments.OtherModel, price: null);
        }

        // Claim a slot first, so that racing threads never keep more than MaxCachedNames names.
        if (Interlocked.Increment(ref this.cached) <= MaxCachedNames)
        {
            if (!this.cache.TryAdd(model, resolved))
            {
                Interlocked.Decrement(ref this.cached); // another thread added the same name
            }
        }
        else
        {
            Interlocked.Decrement(ref this.cached);
        }

        return resolved;
    }
}

/// <summary>A model name resolved by <see cref="ModelTagger"/>: its metric tag value and its price.</summary>
internal sealed class ResolvedModel
{
    public ResolvedModel(string model, string tag, LlmTokenPrice? price)
    {
        this.Model = model;
        this.Tag = tag;
        this.Price = price;
    }

    /// <summary>Gets the model name as given.</summary>
    public string Model { get; }

    /// <summary>Gets the metric tag value: the table's or the declared name, <c>other</c> or <c>unknown</c>.</summary>
    public string Tag { get; }

    /// <summary>Gets the price, or <c>null</c> when the model has none.</summary>
    public LlmTokenPrice? Price { get; }
}
