using System.Collections.Frozen;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmApm.Otel;

/// <summary>
/// The prices LLM-APM computes costs with: the defaults shipped in the package (a dated file),
/// overridden and extended by <see cref="LlmApmOptions.Prices"/>. Model ids match case-insensitively,
/// and a dated id (<c>gpt-4o-2024-08-06</c>, <c>gpt-4-0613</c>) prices as its family (<c>gpt-4o</c>, <c>gpt-4</c>).
/// </summary>
internal sealed partial class LlmPriceTable
{
    private const decimal PerMillion = 1_000_000m;
    private readonly FrozenDictionary<string, Entry> prices;

    /// <summary>Initializes a new instance of the <see cref="LlmPriceTable"/> class.</summary>
    /// <param name="overrides">Entries that replace or extend the shipped defaults.</param>
    /// <param name="includeDefaults">Whether to start from the shipped defaults.</param>
    public LlmPriceTable(IEnumerable<KeyValuePair<string, LlmModelPrice>>? overrides = null, bool includeDefaults = true)
    {
        var table = new Dictionary<string, LlmModelPrice>(StringComparer.OrdinalIgnoreCase);
        if (includeDefaults)
        {
            var defaults = ShippedDefaults.Value;
            foreach (var entry in defaults.Models)
            {
                table[entry.Key] = entry.Value;
            }

            this.DefaultsUpdated = defaults.Updated;
        }

        if (overrides is not null)
        {
            foreach (var entry in overrides)
            {
                Validate(entry.Key, entry.Value);
                table[entry.Key.Trim()] = entry.Value;
            }
        }

        this.prices = table.ToFrozenDictionary(e => e.Key, e => new Entry(e.Key, e.Value, new LlmTokenPrice(e.Value)), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Gets the date of the shipped default prices, or <c>null</c> when they are not used.</summary>
    public string? DefaultsUpdated { get; }

    /// <summary>Gets the model names the table prices.</summary>
    public IEnumerable<string> Models => this.prices.Keys;

    /// <summary>
    /// Finds the price of <paramref name="model"/>: an exact (case-insensitive) match first, then the model's
    /// family with its date suffix removed.
    /// </summary>
    /// <param name="model">The model id as configured or as the provider reported it.</param>
    /// <param name="canonicalName">The table's name of the model that matched.</param>
    /// <param name="price">The price.</param>
    /// <returns><c>true</c> when the model is priced.</returns>
    public bool TryGetPrice(string? model, out string canonicalName, out LlmModelPrice price)
    {
        if (this.TryGetEntry(model, out var entry))
        {
            canonicalName = entry.Name;
            price = entry.Price;
            return true;
        }

        canonicalName = string.Empty;
        price = null!;
        return false;
    }

    /// <summary>Finds the price of <paramref name="model"/> as <see cref="TryGetPrice"/> does, prepared for computing
    /// costs (<see cref="LlmTokenPrice.Cost"/>, the same result as <see cref="ComputeCost"/>).</summary>
    /// <param name="model">The model id.</param>
    /// <param name="canonicalName">The table's name of the model that matched.</param>
    /// <param name="price">The prepared price.</param>
    /// <returns><c>true</c> when the model is priced.</returns>
    internal bool TryGetTokenPrice(string? model, out string canonicalName, out LlmTokenPrice price)
    {
        if (this.TryGetEntry(model, out var entry))
        {
            canonicalName = entry.Name;
            price = entry.TokenPrice;
            return true;
        }

        canonicalName = string.Empty;
        price = null!;
        return false;
    }

    /// <summary>Computes the cost of one call. Cached input tokens are part of <paramref name="inputTokens"/>
    /// and are priced at the cached rate; reasoning tokens are part of <paramref name="outputTokens"/>.</summary>
    /// <param name="price">The model's price.</param>
    /// <param name="inputTokens">All input tokens, cached ones included.</param>
    /// <param name="cachedInputTokens">The cached part of the input tokens.</param>
    /// <param name="outputTokens">All output tokens, reasoning ones included.</param>
    /// <returns>The cost in US dollars.</returns>
    public static decimal ComputeCost(LlmModelPrice price, long inputTokens, long cachedInputTokens, long outputTokens)
    {
        ArgumentNullException.ThrowIfNull(price);
        var cached = Math.Clamp(cachedInputTokens, 0, Math.Max(inputTokens, 0));
        var uncached = Math.Max(inputTokens, 0) - cached;
        var cachedRate = price.CachedInputPerMillion ?? price.InputPerMillion;
        return ((uncached * price.InputPerMillion) + (cached * cachedRate) + (Math.Max(outputTokens, 0) * price.OutputPerMillion)) / PerMillion;
    }

    private bool TryGetEntry(string? model, out Entry entry)
    {
        entry = null!;
        if (string.IsNullOrWhiteSpace(model))
        {
            return false;
        }

        var lookup = this.prices.GetAlternateLookup<ReadOnlySpan<char>>();
        var span = model.AsSpan().Trim();
        if (lookup.TryGetValue(span, out entry!))
        {
            return true;
        }

        var family = DateSuffix().Match(model.Trim());
        return family.Success && lookup.TryGetValue(span[..family.Index], out entry!);
    }

    private static void Validate(string model, LlmModelPrice price)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new ArgumentException("A price entry needs a model name.", nameof(model));
        }

        if (price is null || price.InputPerMillion < 0 || price.OutputPerMillion < 0 || price.CachedInputPerMillion < 0)
        {
            throw new ArgumentException($"The price of model '{model}' must be given and not negative.", nameof(price));
        }
    }

    private static readonly Lazy<(Dictionary<string, LlmModelPrice> Models, string? Updated)> ShippedDefaults = new(LoadDefaults);

    private static (Dictionary<string, LlmModelPrice> Models, string? Updated) LoadDefaults()
    {
        using var stream = typeof(LlmPriceTable).Assembly.GetManifestResourceStream("LlmApm.Otel.prices.json")
            ?? throw new InvalidOperationException("The shipped price table is missing from the LlmApm.Otel assembly.");
        var file = JsonSerializer.Deserialize(stream, LlmApmJsonContext.Default.LlmPriceFile)
            ?? throw new InvalidOperationException("The shipped price table of the LlmApm.Otel assembly is empty.");
        var models = new Dictionary<string, LlmModelPrice>(StringComparer.OrdinalIgnoreCase);
        foreach (var model in file.Models)
        {
            models[model.Key] = new LlmModelPrice
            {
                InputPerMillion = model.Value.Input,
                OutputPerMillion = model.Value.Output,
                CachedInputPerMillion = model.Value.CachedInput,
            };
        }

        return (models, file.Updated);
    }

    /// <summary>A model of the table: its name, its price as given and its price prepared for costs.</summary>
    private sealed record Entry(string Name, LlmModelPrice Price, LlmTokenPrice TokenPrice);

    // -2024-08-06, -20240806, -0613 (OpenAI's older month-day suffix).
    [GeneratedRegex(@"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$", RegexOptions.CultureInvariant)]
    private static partial Regex DateSuffix();
}
