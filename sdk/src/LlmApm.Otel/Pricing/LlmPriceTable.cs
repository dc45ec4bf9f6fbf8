using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace LlmApm.Otel;

/// <summary>
/// The prices LLM-APM computes costs with, in three layers: the catalogue shipped in the package (dated entries),
/// a price file (<see cref="LlmApmOptions.PriceFile"/>) over it, and <see cref="LlmApmOptions.Prices"/> over both.
/// A call is priced by its provider and model: the entry of that provider first, then an entry for the model at any
/// provider (from configuration, or a file entry without provider), then the first entry of the model at another
/// provider. Model ids match case-insensitively, and a dated id (<c>gpt-4o-2024-08-06</c>, <c>gpt-4-0613</c>,
/// <c>claude-3-5-haiku-20241022</c>, <c>mistral-large-latest</c>) prices as its family.
/// </summary>
internal sealed partial class LlmPriceTable
{
    private const decimal PerMillion = 1_000_000m;
    private const char KeySeparator = '\n';

    private static readonly Lazy<(IReadOnlyList<LlmPriceEntry> Entries, string? Updated)> ShippedDefaults = new(LoadDefaults);

    private readonly FrozenDictionary<string, LlmPriceEntry> qualified;
    private readonly FrozenDictionary<string, LlmPriceEntry> generic;
    private readonly FrozenDictionary<string, LlmPriceEntry> first;

    /// <summary>Initializes a new instance of the <see cref="LlmPriceTable"/> class.</summary>
    /// <param name="overrides">Entries of configuration, by model id, over every other layer.</param>
    /// <param name="includeDefaults">Whether to start from the shipped catalogue.</param>
    /// <param name="fileEntries">The entries of a price file, over the shipped catalogue.</param>
    /// <exception cref="ArgumentException">An override has no model name or a negative price.</exception>
    public LlmPriceTable(IEnumerable<KeyValuePair<string, LlmModelPrice>>? overrides = null, bool includeDefaults = true, IReadOnlyList<LlmPriceEntry>? fileEntries = null)
    {
        var all = new List<LlmPriceEntry>();
        if (includeDefaults)
        {
            var defaults = ShippedDefaults.Value;
            all.AddRange(defaults.Entries);
            this.DefaultsUpdated = defaults.Updated;
        }

        all.AddRange(fileEntries ?? []);
        foreach (var (model, price) in overrides ?? [])
        {
            Validate(model, price);
            all.Add(LlmPriceEntry.Create(provider: null, model, kind: null, price, [], LlmPriceEntry.Config, source: null, date: null, model));
        }

        // Entries come by ascending layer: a later entry with the same key replaces an earlier one.
        var qualified = new Dictionary<string, LlmPriceEntry>(StringComparer.OrdinalIgnoreCase);
        var generic = new Dictionary<string, LlmPriceEntry>(StringComparer.OrdinalIgnoreCase);
        var first = new Dictionary<string, LlmPriceEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in all)
        {
            if (entry.Provider is { } provider)
            {
                qualified[Key(provider, entry.Model)] = entry;
                if (!first.TryGetValue(entry.Model, out var earlier) || earlier.Layer < entry.Layer)
                {
                    first[entry.Model] = entry;
                }
            }
            else
            {
                generic[entry.Model] = entry;
            }
        }

        this.qualified = qualified.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        this.generic = generic.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        this.first = first.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        this.Entries = all.Where(e => ReferenceEquals(e.Provider is null ? generic[e.Model] : qualified[Key(e.Provider, e.Model)], e)).ToList();
    }

    /// <summary>Gets the date of the shipped catalogue, or <c>null</c> when it is not used.</summary>
    public string? DefaultsUpdated { get; }

    /// <summary>Gets the entries in force (replaced ones left out): shipped, then file, then configuration.</summary>
    public IReadOnlyList<LlmPriceEntry> Entries { get; }

    /// <summary>Gets the model names the table prices.</summary>
    public IEnumerable<string> Models => this.Entries.Select(e => e.Model).Distinct(StringComparer.OrdinalIgnoreCase);

    /// <summary>Finds the price of <paramref name="model"/> at any provider, as <see cref="TryGetEntry"/> does.</summary>
    /// <param name="model">The model id as configured or as the provider reported it.</param>
    /// <param name="canonicalName">The table's name of the model that matched.</param>
    /// <param name="price">The price.</param>
    /// <returns><c>true</c> when the model is priced.</returns>
    public bool TryGetPrice(string? model, out string canonicalName, out LlmModelPrice price)
    {
        if (this.TryGetEntry(provider: null, model, out var entry))
        {
            canonicalName = entry.Model;
            price = entry.TokenPrice.Price;
            return true;
        }

        canonicalName = string.Empty;
        price = null!;
        return false;
    }

    /// <summary>Finds the price of <paramref name="model"/> at any provider, prepared for computing costs.</summary>
    internal bool TryGetTokenPrice(string? model, out string canonicalName, out LlmTokenPrice price)
        => this.TryGetTokenPrice(provider: null, model, out canonicalName, out price);

    /// <summary>Finds the price of <paramref name="model"/> at <paramref name="provider"/>, prepared for computing costs
    /// (<see cref="LlmTokenPrice.ForInput"/> chooses the tier, <see cref="LlmTokenPrice.Cost(long, long, long, long)"/>
    /// computes).</summary>
    /// <param name="provider">The provider (<c>gen_ai.provider.name</c>), or <c>null</c>.</param>
    /// <param name="model">The model id.</param>
    /// <param name="canonicalName">The table's name of the model that matched.</param>
    /// <param name="price">The prepared price.</param>
    /// <returns><c>true</c> when the model is priced.</returns>
    internal bool TryGetTokenPrice(string? provider, string? model, out string canonicalName, out LlmTokenPrice price)
    {
        if (this.TryGetEntry(provider, model, out var entry))
        {
            canonicalName = entry.Model;
            price = entry.TokenPrice;
            return true;
        }

        canonicalName = string.Empty;
        price = null!;
        return false;
    }

    /// <summary>Finds the entry that prices <paramref name="model"/> at <paramref name="provider"/>: the model id as
    /// given, else its family (date suffix removed); for each, the provider's entry or an entry for any provider,
    /// whichever has the higher layer, else the first entry of the model.</summary>
    internal bool TryGetEntry(string? provider, string? model, out LlmPriceEntry entry)
    {
        entry = null!;
        if (string.IsNullOrWhiteSpace(model))
        {
            return false;
        }

        var name = model.Trim();
        var normalized = LlmPriceEntry.NormalizeProvider(provider);
        if (this.Find(normalized, name, out entry))
        {
            return true;
        }

        var family = DateSuffix().Match(name);
        return family.Success && family.Index > 0 && this.Find(normalized, name[..family.Index], out entry);
    }

    /// <summary>Computes the cost of one call. Cached input tokens are part of <paramref name="inputTokens"/>
    /// and are priced at the cached rate; reasoning tokens are part of <paramref name="outputTokens"/>.</summary>
    /// <param name="price">The model's price.</param>
    /// <param name="inputTokens">All input tokens, cached ones included.</param>
    /// <param name="cachedInputTokens">The cached part of the input tokens.</param>
    /// <param name="outputTokens">All output tokens, reasoning ones included.</param>
    /// <returns>The cost in US dollars.</returns>
    public static decimal ComputeCost(LlmModelPrice price, long inputTokens, long cachedInputTokens, long outputTokens)
        => ComputeCost(price, inputTokens, cachedInputTokens, 0, outputTokens);

    /// <summary>Computes the cost of one call. Cache reads and writes are parts of <paramref name="inputTokens"/> (as
    /// the GenAI conventions count input) priced at their rates, the rest at the input rate; reasoning tokens are part
    /// of <paramref name="outputTokens"/>. Parts larger than the input are cut to it.</summary>
    /// <param name="price">The model's price.</param>
    /// <param name="inputTokens">All input tokens, cached and cache-write ones included.</param>
    /// <param name="cachedInputTokens">The part of the input tokens read from the cache.</param>
    /// <param name="cacheWriteTokens">The part of the input tokens written to the cache.</param>
    /// <param name="outputTokens">All output tokens, reasoning ones included.</param>
    /// <returns>The cost in US dollars.</returns>
    public static decimal ComputeCost(LlmModelPrice price, long inputTokens, long cachedInputTokens, long cacheWriteTokens, long outputTokens)
    {
        ArgumentNullException.ThrowIfNull(price);
        var input = Math.Max(inputTokens, 0);
        var cached = Math.Clamp(cachedInputTokens, 0, input);
        var written = Math.Clamp(cacheWriteTokens, 0, input - cached);
        var uncached = input - cached - written;
        var cachedRate = price.CachedInputPerMillion ?? price.InputPerMillion;
        var writeRate = price.CacheWriteInputPerMillion ?? price.InputPerMillion;
        return ((uncached * price.InputPerMillion) + (cached * cachedRate) + (written * writeRate) + (Math.Max(outputTokens, 0) * price.OutputPerMillion)) / PerMillion;
    }

    private static string Key(string provider, string model) => string.Concat(provider, KeySeparator.ToString(), model);

    private bool Find(string? provider, string model, out LlmPriceEntry entry)
    {
        LlmPriceEntry? own = null;
        if (provider is not null)
        {
            this.qualified.TryGetValue(Key(provider, model), out own);
        }

        this.generic.TryGetValue(model, out var any);
        entry = (own, any) switch
        {
            ({ } o, { } a) => a.Layer > o.Layer ? a : o,
            ({ } o, null) => o,
            (null, { } a) => a,
            _ => this.first.GetValueOrDefault(model)!,
        };
        return entry is not null;
    }

    private static void Validate(string model, LlmModelPrice price)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new ArgumentException("A price entry needs a model name.", nameof(model));
        }

        if (price is null || price.InputPerMillion < 0 || price.OutputPerMillion < 0 || price.CachedInputPerMillion < 0 || price.CacheWriteInputPerMillion < 0)
        {
            throw new ArgumentException($"The price of model '{model}' must be given and not negative.", nameof(price));
        }
    }

    private static (IReadOnlyList<LlmPriceEntry> Entries, string? Updated) LoadDefaults()
    {
        using var stream = typeof(LlmPriceTable).Assembly.GetManifestResourceStream("LlmApm.Otel.prices.json")
            ?? throw new InvalidOperationException("The shipped price table is missing from the LlmApm.Otel assembly.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var entries = LlmPriceFile.Read(buffer.ToArray(), LlmPriceEntry.Shipped, out var updated);
        return (entries, updated);
    }

    // -2024-08-06, -20240806, -0613 / -2411 (month-day or year-month suffixes), -latest.
    [GeneratedRegex(@"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex DateSuffix();
}
