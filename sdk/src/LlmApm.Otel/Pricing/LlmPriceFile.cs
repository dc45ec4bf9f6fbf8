using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmApm.Otel;

/// <summary>A price file: the shipped catalogue (<c>Pricing/prices.json</c>) or one named by <c>LlmApm:PriceFile</c>.
/// Schema 2 lists <c>prices</c> (provider, model, rates, tiers, source, date); schema 1 maps <c>models</c> to their
/// input, cached input and output rates, all of the file's <c>updated</c> date. Other fields (currency, unit, note)
/// are for its readers.</summary>
internal sealed class LlmPriceFile
{
    public int? SchemaVersion { get; init; }

    public string? Updated { get; init; }

    public Dictionary<string, Rates>? Models { get; init; }

    public List<Entry>? Prices { get; init; }

    /// <summary>Reads a price file into its entries, checked: every entry has a model, no rate is negative, tiers rise.</summary>
    /// <param name="json">The file's UTF-8 bytes.</param>
    /// <param name="origin">Where the entries come from (<see cref="LlmPriceEntry.Shipped"/>, <see cref="LlmPriceEntry.File"/>).</param>
    /// <param name="updated">The file's <c>updated</c> date, if any.</param>
    /// <returns>The entries in file order.</returns>
    /// <exception cref="FormatException">The file is not JSON of either schema, or an entry is invalid; the message
    /// names the entry and what is wrong with it.</exception>
    public static IReadOnlyList<LlmPriceEntry> Read(ReadOnlySpan<byte> json, string origin, out string? updated)
    {
        LlmPriceFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, LlmApmJsonContext.Default.LlmPriceFile);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"The price file is not valid JSON (line {ex.LineNumber + 1}, position {ex.BytePositionInLine + 1}): {FirstLine(ex.Message)}", ex);
        }

        if (file is null)
        {
            throw new FormatException("The price file is empty (null).");
        }

        updated = file.Updated;
        var entries = new List<LlmPriceEntry>();
        if (file.Prices is { } prices)
        {
            for (var i = 0; i < prices.Count; i++)
            {
                var entry = prices[i] ?? throw new FormatException($"prices[{i}] is null.");
                var where = $"prices[{i}] ({entry.Provider}{(entry.Provider is null ? null : "/")}{entry.Model})";
                entries.Add(LlmPriceEntry.Create(entry.Provider, entry.Model, entry.Kind, entry.ToPrice(), Tiers(entry.Tiers, where), origin, entry.Source, entry.Date ?? file.Updated, where));
            }
        }

        if (file.Models is { } models)
        {
            foreach (var (model, rates) in models)
            {
                var where = $"models.{model}";
                var price = rates?.ToPrice() ?? throw new FormatException($"{where} has no rates.");
                entries.Add(LlmPriceEntry.Create(provider: null, model, kind: null, price, [], origin, source: null, file.Updated, where));
            }
        }

        if (file.Prices is null && file.Models is null)
        {
            throw new FormatException("The price file has neither 'prices' (schema 2) nor 'models' (schema 1).");
        }

        return entries;
    }

    private static List<(long Above, LlmModelPrice Price)> Tiers(List<Tier>? tiers, string where)
    {
        var result = new List<(long, LlmModelPrice)>();
        long previous = 0;
        foreach (var tier in tiers ?? [])
        {
            if (tier is null || tier.AboveInputTokens <= previous)
            {
                throw new FormatException($"{where}: tiers need aboveInputTokens greater than 0 and rising (is {tier?.AboveInputTokens.ToString(CultureInfo.InvariantCulture) ?? "null"}).");
            }

            previous = tier.AboveInputTokens;
            result.Add((tier.AboveInputTokens, tier.ToPrice()));
        }

        return result;
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }

    /// <summary>Rates in US dollars per million tokens.</summary>
    internal class Rates
    {
        [JsonRequired]
        public decimal Input { get; init; }

        public decimal? CachedInput { get; init; }

        public decimal? CacheWrite { get; init; }

        [JsonRequired]
        public decimal Output { get; init; }

        public LlmModelPrice ToPrice() => new()
        {
            InputPerMillion = this.Input,
            CachedInputPerMillion = this.CachedInput,
            CacheWriteInputPerMillion = this.CacheWrite,
            OutputPerMillion = this.Output,
        };
    }

    /// <summary>A schema 2 entry.</summary>
    internal sealed class Entry : Rates
    {
        public string? Provider { get; init; }

        public string? Model { get; init; }

        public string? Kind { get; init; }

        public List<Tier>? Tiers { get; init; }

        public string? Source { get; init; }

        public string? Date { get; init; }
    }

    /// <summary>The rates of a whole call whose input tokens are above <see cref="AboveInputTokens"/>.</summary>
    internal sealed class Tier : Rates
    {
        [JsonRequired]
        public long AboveInputTokens { get; init; }
    }
}
