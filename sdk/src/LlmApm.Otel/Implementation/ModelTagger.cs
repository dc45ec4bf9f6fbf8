using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace LlmApm.Otel;

/// <summary>Maps model names to bounded metric tag values: priced or declared models keep their (family) name,
/// anything else is <c>other</c>. Unpriced names kept for <c>llm.price.misses</c> are capped as well. A name is
/// resolved once, with its provider, to its tag and its price (<see cref="ResolvedModel"/>), so that a repeated model
/// costs one comparison with the last one, or one dictionary lookup. When the price table changes (the price file was
/// reloaded), names are resolved afresh against the new one.</summary>
internal sealed class ModelTagger
{
    /// <summary>The most model names resolved ahead of time. Priced and declared models are a bounded set, but a
    /// provider's answers can spell them in many ways (case, dates): beyond this many, names are resolved each time.</summary>
    internal const int MaxCachedNames = 1024;

    private const int MaxMissNames = 16;
    private const int MaxMissNameLength = 64;

    private static readonly ResolvedModel Unknown = new(string.Empty, LlmApmInstruments.UnknownModel, price: null);

    private readonly LlmPriceCatalog prices;
    private readonly FrozenSet<string> declared;
    private readonly ConcurrentDictionary<string, byte> missNames = new(StringComparer.OrdinalIgnoreCase);
    private Resolutions resolutions;

    public ModelTagger(LlmPriceCatalog prices, IEnumerable<string> declaredModels)
    {
        this.prices = prices;
        this.resolutions = new Resolutions(prices.Current);
        this.declared = declaredModels.Where(m => !string.IsNullOrWhiteSpace(m)).Select(m => m.Trim())
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Gets how many names are resolved ahead of time (at most <see cref="MaxCachedNames"/>).</summary>
    internal int CachedNames => Volatile.Read(ref this.Current.Cached);

    private Resolutions Current
    {
        get
        {
            // One reference comparison per call: a reloaded table starts a new set of resolutions.
            var resolutions = Volatile.Read(ref this.resolutions);
            var table = this.prices.Current;
            if (!ReferenceEquals(resolutions.Table, table))
            {
                var fresh = new Resolutions(table);
                resolutions = Interlocked.CompareExchange(ref this.resolutions, fresh, resolutions) == resolutions ? fresh : Volatile.Read(ref this.resolutions);
            }

            return resolutions;
        }
    }

    /// <summary>Returns the metric tag value of <paramref name="model"/>.</summary>
    public string Tag(string? model) => this.Resolve(model).Tag;

    /// <summary>Returns the metric tag value and the price of <paramref name="model"/> at any provider.</summary>
    public ResolvedModel Resolve(string? model) => this.Resolve(provider: null, model);

    /// <summary>Returns the metric tag value and the price of <paramref name="model"/> at <paramref name="provider"/>.</summary>
    public ResolvedModel Resolve(string? provider, string? model)
    {
        if (model is null)
        {
            return Unknown;
        }

        // A host nearly always calls one model: the last name resolved is compared first.
        var resolutions = this.Current;
        var last = Volatile.Read(ref resolutions.Last);
        if (last is not null && string.Equals(last.Model, model, StringComparison.Ordinal) && string.Equals(last.Provider, provider, StringComparison.Ordinal))
        {
            return last;
        }

        var resolved = this.ResolveSlow(resolutions, provider, model);
        Volatile.Write(ref resolutions.Last, resolved);
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

    private ResolvedModel ResolveSlow(Resolutions resolutions, string? provider, string model)
    {
        if (resolutions.Cache.TryGetValue((provider ?? string.Empty, model), out var known))
        {
            return known;
        }

        if (string.IsNullOrWhiteSpace(model))
        {
            return Unknown;
        }

        ResolvedModel resolved;
        if (resolutions.Table.TryGetTokenPrice(provider, model, out var canonical, out var price))
        {
            resolved = new ResolvedModel(model, canonical, price, provider);
        }
        else if (this.declared.TryGetValue(model.Trim(), out var declaredName))
        {
            resolved = new ResolvedModel(model, declaredName, price: null, provider);
        }
        else
        {
            // Unknown names are not kept (beyond the last one): they are not a bounded set.
            return new ResolvedModel(model, LlmApmInstruments.OtherModel, price: null, provider);
        }

        // Claim a slot first, so that racing threads never keep more than MaxCachedNames names.
        if (Interlocked.Increment(ref resolutions.Cached) <= MaxCachedNames)
        {
            if (!resolutions.Cache.TryAdd((provider ?? string.Empty, model), resolved))
            {
                Interlocked.Decrement(ref resolutions.Cached); // another thread added the same name
            }
        }
        else
        {
            Interlocked.Decrement(ref resolutions.Cached);
        }

        return resolved;
    }

    /// <summary>The names resolved against one price table.</summary>
    private sealed class Resolutions(LlmPriceTable table)
    {
        public readonly LlmPriceTable Table = table;
        public readonly ConcurrentDictionary<(string Provider, string Model), ResolvedModel> Cache = new(OrdinalPairComparer.Instance);
        public int Cached;
        public ResolvedModel? Last;
    }

    /// <summary>Compares (provider, model) pairs ordinally, without the culture-aware default of strings in tuples.</summary>
    private sealed class OrdinalPairComparer : IEqualityComparer<(string Provider, string Model)>
    {
        public static readonly OrdinalPairComparer Instance = new();

        public bool Equals((string Provider, string Model) x, (string Provider, string Model) y)
            => string.Equals(x.Provider, y.Provider, StringComparison.Ordinal) && string.Equals(x.Model, y.Model, StringComparison.Ordinal);

        public int GetHashCode((string Provider, string Model) obj)
            => HashCode.Combine(StringComparer.Ordinal.GetHashCode(obj.Provider), StringComparer.Ordinal.GetHashCode(obj.Model));
    }
}

/// <summary>A model name resolved by <see cref="ModelTagger"/>: its metric tag value and its price.</summary>
internal sealed class ResolvedModel
{
    public ResolvedModel(string model, string tag, LlmTokenPrice? price, string? provider = null)
    {
        this.Provider = provider;
        this.Model = model;
        this.Tag = tag;
        this.Price = price;
    }

    /// <summary>Gets the provider as given, or <c>null</c>.</summary>
    public string? Provider { get; }

    /// <summary>Gets the model name as given.</summary>
    public string Model { get; }

    /// <summary>Gets the metric tag value: the table's or the declared name, <c>other</c> or <c>unknown</c>.</summary>
    public string Tag { get; }

    /// <summary>Gets the price, or <c>null</c> when the model has none.</summary>
    public LlmTokenPrice? Price { get; }
}
