using System.Globalization;

namespace LlmApm.Otel;

/// <summary>One entry of the price table: a model at a provider (or at any provider), its rates and tiers, where the
/// entry comes from and the date and source of its prices. Its id (<c>llm.price</c>) is
/// <c>provider/model@date</c>, <c>#&gt;200k</c> added for a tier.</summary>
internal sealed class LlmPriceEntry
{
    public const string Shipped = "shipped";
    public const string File = "file";
    public const string Config = "config";

    private LlmPriceEntry(string? provider, string model, string? kind, LlmModelPrice price, IReadOnlyList<(long Above, LlmModelPrice Price)> tiers, string origin, string? source, string? date)
    {
        this.Provider = provider;
        this.Model = model;
        this.Kind = kind;
        this.Origin = origin;
        this.Source = source;
        this.Date = date;
        this.Layer = origin switch { Shipped => 0, File => 1, _ => 2 };
        // An entry without a date says where it comes from instead (@file, @config).
        var stamp = date ?? (origin == Shipped ? null : origin);
        var id = (provider is null ? model : $"{provider}/{model}") + (stamp is null ? null : "@" + stamp);
        this.Id = id;
        var prepared = tiers.Select(t => new LlmTokenPrice(t.Price, $"{id}#>{Threshold(t.Above)}", t.Above)).ToList();
        this.TokenPrice = new LlmTokenPrice(price, id, 0, prepared);
        this.Tiers = prepared;
    }

    /// <summary>Gets the entry id.</summary>
    public string Id { get; }

    /// <summary>Gets the provider, as <c>gen_ai.provider.name</c> names it (lower case), or <c>null</c> for any provider.</summary>
    public string? Provider { get; }

    /// <summary>Gets the model id.</summary>
    public string Model { get; }

    /// <summary>Gets the kind of model (<c>chat</c>, <c>embedding</c>), when the file says.</summary>
    public string? Kind { get; }

    /// <summary>Gets where the entry comes from: <see cref="Shipped"/>, <see cref="File"/> or <see cref="Config"/>.</summary>
    public string Origin { get; }

    /// <summary>Gets the URL the prices were read from, when known.</summary>
    public string? Source { get; }

    /// <summary>Gets the date the prices are known for (<c>2025-08</c> or <c>2025-08-07</c>), when known.</summary>
    public string? Date { get; }

    /// <summary>Gets the layer: configuration over the price file over the shipped catalogue.</summary>
    public int Layer { get; }

    /// <summary>Gets the base price prepared for costs, its tiers with it.</summary>
    public LlmTokenPrice TokenPrice { get; }

    /// <summary>Gets the tiers, by ascending threshold.</summary>
    public IReadOnlyList<LlmTokenPrice> Tiers { get; }

    /// <summary>Checks and builds an entry.</summary>
    /// <exception cref="FormatException">No model, or a negative rate; the message names <paramref name="where"/>.</exception>
    public static LlmPriceEntry Create(string? provider, string? model, string? kind, LlmModelPrice price, IReadOnlyList<(long Above, LlmModelPrice Price)> tiers, string origin, string? source, string? date, string where)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new FormatException($"{where} has no model.");
        }

        Check(price, where);
        foreach (var tier in tiers)
        {
            Check(tier.Price, $"{where}, tier above {tier.Above}");
        }

        return new LlmPriceEntry(NormalizeProvider(provider), model.Trim(), string.IsNullOrWhiteSpace(kind) ? null : kind.Trim(), price, tiers, origin, Blank(source), Blank(date));
    }

    /// <summary>The provider as the table keys it: lower case, common spellings mapped to the GenAI conventions' names.</summary>
    public static string? NormalizeProvider(string? provider)
    {
        if (string.IsNullOrWhiteSpace(provider))
        {
            return null;
        }

        var name = provider.Trim().ToLowerInvariant();
        return name switch
        {
            "azure" or "azure_openai" or "azure.openai" or "azureopenai" => "azure.ai.openai",
            "google" or "gemini" or "gcp.gen_ai" => "gcp.gemini",
            "mistral" or "mistralai" => "mistral_ai",
            "bedrock" or "aws" => "aws.bedrock",
            _ => name,
        };
    }

    private static void Check(LlmModelPrice price, string where)
    {
        if (price.InputPerMillion < 0 || price.OutputPerMillion < 0 || price.CachedInputPerMillion < 0 || price.CacheWriteInputPerMillion < 0)
        {
            throw new FormatException($"{where} has a negative price.");
        }
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string Threshold(long tokens) => tokens % 1_000_000 == 0
        ? (tokens / 1_000_000).ToString(CultureInfo.InvariantCulture) + "M"
        : tokens % 1000 == 0 ? (tokens / 1000).ToString(CultureInfo.InvariantCulture) + "k" : tokens.ToString(CultureInfo.InvariantCulture);
}
