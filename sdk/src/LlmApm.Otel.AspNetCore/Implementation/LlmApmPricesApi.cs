using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary><c>GET api/prices</c> (docs/api.md): the price table in force, each entry with its id (the <c>price</c> of
/// an LLM call's step), rates, tiers, source and date, and the price file's state, so that the dashboard can show
/// what a cost was computed with.</summary>
internal static class LlmApmPricesApi
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/prices", (HttpContext context) =>
            {
                var catalog = LlmApmHistoryApi.Instrumentation(context).PriceCatalog;
                var table = catalog.Current;
                var entries = table.Entries.Select(LlmApmWirePrice.From).ToList();
                return TypedResults.Json(new LlmApmWirePrices(table.DefaultsUpdated, LlmApmWirePriceFile.From(catalog.Status), entries), LlmApmAspNetCoreJsonContext.Default.LlmApmWirePrices);
            })
            .WithName("LlmApmPrices")
            .WithSummary("The prices in force (shipped catalogue, price file, configuration): each entry's id, rates per million tokens, tiers, source and date, and the price file's last reload or error.")
            .Produces<LlmApmWirePrices>();
    }
}

/// <summary>The body of <c>api/prices</c>.</summary>
/// <param name="Updated">The date of the shipped catalogue.</param>
/// <param name="File">The price file's state, or <c>null</c> without one.</param>
/// <param name="Entries">The entries in force: shipped, then the file's, then configuration's.</param>
internal sealed record LlmApmWirePrices(string? Updated, LlmApmWirePriceFile? File, IReadOnlyList<LlmApmWirePrice> Entries);

/// <summary>The price file's state, in <c>api/prices</c> and <c>api/info</c>.</summary>
/// <param name="Path">The file's full path.</param>
/// <param name="LoadedAt">When the prices in force were read from it, or <c>null</c> if never.</param>
/// <param name="FailedAt">When the last reading failed, or <c>null</c> when it succeeded.</param>
/// <param name="Error">Why the last reading failed (the last good prices stay), or <c>null</c>.</param>
/// <param name="Entries">How many of the file's entries are in force.</param>
internal sealed record LlmApmWirePriceFile(string Path, DateTimeOffset? LoadedAt, DateTimeOffset? FailedAt, string? Error, int Entries)
{
    public static LlmApmWirePriceFile? From(LlmPriceFileStatus? status)
        => status is null ? null : new(status.Path, status.LoadedAt, status.FailedAt, status.Error, status.Entries);
}

/// <summary>One price entry, rates in US dollars per million tokens.</summary>
/// <param name="Id">The entry id: <c>provider/model@date</c> (the <c>price</c> of a step).</param>
/// <param name="Provider">The provider (<c>gen_ai.provider.name</c>), or <c>null</c> for any.</param>
/// <param name="Model">The model id.</param>
/// <param name="Kind"><c>chat</c>, <c>embedding</c> or <c>null</c>.</param>
/// <param name="Origin"><c>shipped</c>, <c>file</c> or <c>config</c>.</param>
/// <param name="InputPerMillion">Input tokens.</param>
/// <param name="CachedInputPerMillion">Cache reads, or <c>null</c> for the input rate.</param>
/// <param name="CacheWritePerMillion">Cache writes, or <c>null</c> for the input rate.</param>
/// <param name="OutputPerMillion">Output tokens.</param>
/// <param name="Tiers">Rates of a whole call above a number of input tokens, by ascending threshold.</param>
/// <param name="Source">Where the prices were read, or <c>null</c>.</param>
/// <param name="Date">The date they are known for, or <c>null</c>.</param>
internal sealed record LlmApmWirePrice(
    string Id,
    string? Provider,
    string Model,
    string? Kind,
    string Origin,
    decimal InputPerMillion,
    decimal? CachedInputPerMillion,
    decimal? CacheWritePerMillion,
    decimal OutputPerMillion,
    IReadOnlyList<LlmApmWirePriceTier> Tiers,
    string? Source,
    string? Date)
{
    public static LlmApmWirePrice From(LlmPriceEntry entry)
    {
        var price = entry.TokenPrice.Price;
        return new(
            entry.Id,
            entry.Provider,
            entry.Model,
            entry.Kind,
            entry.Origin,
            price.InputPerMillion,
            price.CachedInputPerMillion,
            price.CacheWriteInputPerMillion,
            price.OutputPerMillion,
            entry.Tiers.Select(LlmApmWirePriceTier.From).ToList(),
            entry.Source,
            entry.Date);
    }
}

/// <summary>A tier of a price entry.</summary>
/// <param name="Id">The tier's id: the entry's with <c>#&gt;200k</c>.</param>
/// <param name="AboveInputTokens">The tier prices a call with more input tokens than this.</param>
/// <param name="InputPerMillion">Input tokens.</param>
/// <param name="CachedInputPerMillion">Cache reads, or <c>null</c> for the input rate.</param>
/// <param name="CacheWritePerMillion">Cache writes, or <c>null</c> for the input rate.</param>
/// <param name="OutputPerMillion">Output tokens.</param>
internal sealed record LlmApmWirePriceTier(string Id, long AboveInputTokens, decimal InputPerMillion, decimal? CachedInputPerMillion, decimal? CacheWritePerMillion, decimal OutputPerMillion)
{
    public static LlmApmWirePriceTier From(LlmTokenPrice tier)
        => new(tier.Id, tier.AboveInputTokens, tier.Price.InputPerMillion, tier.Price.CachedInputPerMillion, tier.Price.CacheWriteInputPerMillion, tier.Price.OutputPerMillion);
}
