namespace LlmApm.Otel.Tests;

public class LlmPriceTableTests
{
    [Theory]
    [InlineData("gpt-4o", "gpt-4o")]
    [InlineData("GPT-4o", "gpt-4o")]
    [InlineData("gpt-4o-2024-08-06", "gpt-4o")]
    [InlineData("gpt-4o-mini-2024-07-18", "gpt-4o-mini")]
    [InlineData("gpt-4-0613", "gpt-4")]
    [InlineData("gpt-3.5-turbo-0125", "gpt-3.5-turbo")]
    [InlineData("o3-mini-20250131", "o3-mini")]
    public void TryGetPrice_ExactCaseAndDatedIds_PriceAsTheirFamily(string model, string family)
    {
        var table = new LlmPriceTable();
        Assert.True(table.TryGetPrice(model, out var canonical, out _));
        Assert.Equal(family, canonical);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("llama3")]
    [InlineData("gpt-4o-custom-deployment")]
    public void TryGetPrice_UnknownModel_IsNotPriced(string? model)
    {
        Assert.False(new LlmPriceTable().TryGetPrice(model, out _, out _));
    }

    [Fact]
    public void ComputeCost_CachedInput_PricedAtCachedRateWithDecimalPrecision()
    {
        var price = new LlmModelPrice { InputPerMillion = 2.50m, CachedInputPerMillion = 1.25m, OutputPerMillion = 10.00m };

        // 1,000 input tokens of which 400 cached, 500 output tokens.
        var cost = LlmPriceTable.ComputeCost(price, 1000, 400, 500);
        Assert.Equal((600 * 2.50m / 1_000_000m) + (400 * 1.25m / 1_000_000m) + (500 * 10.00m / 1_000_000m), cost);
        Assert.Equal(0.0070m, cost);

        // No cached rate: cached tokens cost the input rate.
        var noCache = new LlmModelPrice { InputPerMillion = 0.50m, OutputPerMillion = 1.50m };
        Assert.Equal(LlmPriceTable.ComputeCost(noCache, 1000, 0, 0), LlmPriceTable.ComputeCost(noCache, 1000, 1000, 0));

        // Decimal, not binary floating point: a million calls of one token add up exactly.
        var sum = 0m;
        var tiny = new LlmModelPrice { InputPerMillion = 0.15m, OutputPerMillion = 0.60m };
        for (var i = 0; i < 1000; i++)
        {
            sum += LlmPriceTable.ComputeCost(tiny, 1, 0, 1);
        }

        Assert.Equal(0.00075m, sum);
    }

    [Fact]
    public void Constructor_Overrides_ReplaceAndExtendShippedDefaults()
    {
        var table = new LlmPriceTable(new Dictionary<string, LlmModelPrice>
        {
            ["gpt-4o"] = new() { InputPerMillion = 1m, OutputPerMillion = 2m },
            ["llama3"] = new() { InputPerMillion = 0m, OutputPerMillion = 0m },
        });

        Assert.True(table.TryGetPrice("gpt-4o-2024-11-20", out _, out var overridden));
        Assert.Equal(1m, overridden.InputPerMillion);
        Assert.True(table.TryGetPrice("llama3", out _, out var added));
        Assert.Equal(0m, added.OutputPerMillion);
        Assert.True(table.TryGetPrice("gpt-4o-mini", out _, out _));
        Assert.NotNull(table.DefaultsUpdated);
    }

    [Fact]
    public void Constructor_NegativePrice_ThrowsWithModelName()
    {
        var error = Assert.Throws<ArgumentException>(() => new LlmPriceTable(new Dictionary<string, LlmModelPrice>
        {
            ["bad"] = new() { InputPerMillion = -1m, OutputPerMillion = 1m },
        }));
        Assert.Contains("bad", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Entries_ShippedCatalogue_EveryEntryHasProviderSourceAndDate()
    {
        var entries = new LlmPriceTable().Entries;
        Assert.All(entries, e =>
        {
            Assert.NotNull(e.Provider);
            Assert.StartsWith("https://", e.Source, StringComparison.Ordinal);
            Assert.Matches(@"^\d{4}-\d{2}(-\d{2})?$", e.Date);
            Assert.Equal($"{e.Provider}/{e.Model}@{e.Date}", e.Id);
        });
        var providers = entries.Select(e => e.Provider).ToHashSet();
        Assert.Superset(new HashSet<string?> { "openai", "azure.ai.openai", "anthropic", "gcp.gemini", "mistral_ai", "groq", "together" }, providers);
        Assert.Contains(entries, e => e.Kind == "embedding" && e.Provider == "mistral_ai");
        Assert.Contains(entries, e => e.Kind == "embedding" && e.Provider == "gcp.gemini");
        Assert.Equal(entries.Count, entries.Select(e => e.Id).Distinct().Count());
    }

    [Theory]
    [InlineData("anthropic", "claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5@2025-09")]
    [InlineData(null, "claude-3-5-haiku-latest", "anthropic/claude-3-5-haiku@2025-08")]
    [InlineData("mistral_ai", "mistral-large-2411", "mistral_ai/mistral-large@2025-08")]
    [InlineData("mistral", "mistral-small-latest", "mistral_ai/mistral-small@2025-08")]
    [InlineData("openai", "gpt-4o-2024-08-06", "openai/gpt-4o@2025-08")]
    [InlineData("azure.ai.openai", "gpt-4o", "azure.ai.openai/gpt-4o@2025-08")]
    [InlineData("some-gateway", "gpt-4o", "openai/gpt-4o@2025-08")]
    [InlineData("gcp.vertex_ai", "gemini-2.5-flash", "gcp.gemini/gemini-2.5-flash@2025-07")]
    [InlineData("groq", "llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile@2025-08")]
    public void TryGetEntry_ProviderAndModel_ProvidersEntryElseTheModelsFirst(string? provider, string model, string id)
    {
        Assert.True(new LlmPriceTable().TryGetEntry(provider, model, out var entry));
        Assert.Equal(id, entry.Id);
    }

    [Fact]
    public void TryGetEntry_SameModelAtTwoProvidersAndAConfiguredOne_ProviderFirstThenConfigurationOverAll()
    {
        var file = LlmPriceFile.Read(
            """
            { "schemaVersion": 2, "prices": [
              { "provider": "together", "model": "shared-70b", "input": 1, "output": 1, "date": "2026-10-01" },
              { "provider": "groq", "model": "shared-70b", "input": 2, "output": 2, "date": "2026-10-02" } ] }
            """u8,
            LlmPriceEntry.File,
            out _);
        var table = new LlmPriceTable(fileEntries: file);
        Assert.True(table.TryGetEntry("groq", "shared-70b", out var groq));
        Assert.Equal(("groq/shared-70b@2026-10-02", 2m), (groq.Id, groq.TokenPrice.Price.InputPerMillion));
        Assert.True(table.TryGetEntry("Together", "shared-70b", out var together));
        Assert.Equal("together/shared-70b@2026-10-01", together.Id);
        Assert.True(table.TryGetEntry("elsewhere", "shared-70b", out var first));
        Assert.Equal("together/shared-70b@2026-10-01", first.Id);

        var configured = new LlmPriceTable(new Dictionary<string, LlmModelPrice> { ["shared-70b"] = new() { InputPerMillion = 9m, OutputPerMillion = 9m } }, fileEntries: file);
        Assert.True(configured.TryGetEntry("groq", "shared-70b", out var overridden));
        Assert.Equal(("shared-70b@config", 9m), (overridden.Id, overridden.TokenPrice.Price.InputPerMillion));
        Assert.True(configured.TryGetEntry("anthropic", "claude-sonnet-4-5", out _));
    }

    [Fact]
    public void Cost_AnthropicCacheWritesAndReads_EachAtItsRate()
    {
        Assert.True(new LlmPriceTable().TryGetTokenPrice("anthropic", "claude-sonnet-4-5", out _, out var price));

        // 10,000 input tokens: 6,000 read from the cache, 2,000 written to it, 2,000 plain; 1,000 output.
        var used = price.ForInput(10_000);
        Assert.Same(price, used);
        var cost = used.Cost(10_000, 6_000, 2_000, 1_000);
        Assert.Equal(((2_000 * 3m) + (6_000 * 0.3m) + (2_000 * 3.75m) + (1_000 * 15m)) / 1_000_000m, cost);
        Assert.Equal(LlmPriceTable.ComputeCost(used.Price, 10_000, 6_000, 2_000, 1_000), cost);

        // Reads and writes beyond the input are cut to it, never a negative plain part.
        Assert.Equal((1_000 * 0.3m) / 1_000_000m, used.Cost(1_000, 1_000, 500, 0));
        Assert.Equal(((400 * 0.3m) + (600 * 3.75m)) / 1_000_000m, used.Cost(1_000, 400, 5_000, 0));
    }

    [Theory]
    [InlineData("anthropic", "claude-sonnet-4-5", 200_000, "anthropic/claude-sonnet-4-5@2025-09", 3, 15)]
    [InlineData("anthropic", "claude-sonnet-4-5", 200_001, "anthropic/claude-sonnet-4-5@2025-09#>200k", 6, 22.5)]
    [InlineData("gcp.gemini", "gemini-2.5-pro", 150_000, "gcp.gemini/gemini-2.5-pro@2025-07", 1.25, 10)]
    [InlineData("gcp.gemini", "gemini-2.5-pro", 250_000, "gcp.gemini/gemini-2.5-pro@2025-07#>200k", 2.5, 15)]
    public void ForInput_LongContext_WholeCallAtTheTierAboveItsThreshold(string provider, string model, long input, string id, double inputRate, double outputRate)
    {
        Assert.True(new LlmPriceTable().TryGetTokenPrice(provider, model, out _, out var price));
        var used = price.ForInput(input);
        Assert.Equal(id, used.Id);
        Assert.Equal(((input * (decimal)inputRate) + (1_000 * (decimal)outputRate)) / 1_000_000m, used.Cost(input, 0, 0, 1_000));
    }

    [Fact]
    public void Read_SchemaOneFile_ModelsOfTheFilesDate()
    {
        var entries = LlmPriceFile.Read(
            """{ "updated": "2026-01-15", "models": { "house-model": { "input": 1.5, "cachedInput": 0.5, "output": 3 } } }"""u8,
            LlmPriceEntry.File,
            out var updated);
        var entry = Assert.Single(entries);
        Assert.Equal(("2026-01-15", "house-model@2026-01-15", (string?)null), (updated, entry.Id, entry.Provider));
        Assert.Equal((1.5m, 0.5m, 3m), (entry.TokenPrice.Price.InputPerMillion, entry.TokenPrice.Price.CachedInputPerMillion, entry.TokenPrice.Price.OutputPerMillion));

        var undated = LlmPriceFile.Read("""{ "models": { "m": { "input": 1, "output": 2 } } }"""u8, LlmPriceEntry.File, out _);
        Assert.Equal("m@file", Assert.Single(undated).Id);
    }

    [Theory]
    [InlineData("{ \"prices\": [ { \"model\": \"x\", \"input\": -1, \"output\": 1 } ] }", "prices[0] (x) has a negative price")]
    [InlineData("{ \"prices\": [ { \"provider\": \"p\", \"input\": 1, \"output\": 1 } ] }", "prices[0] (p/) has no model")]
    [InlineData("{ \"prices\": [ { \"model\": \"x\", \"input\": 1, \"output\": 1, \"tiers\": [ { \"aboveInputTokens\": 0, \"input\": 1, \"output\": 1 } ] } ] }", "aboveInputTokens greater than 0")]
    [InlineData("{ \"prices\": [ { \"model\": \"x\", \"output\": 1 } ] }", "not valid JSON")]
    [InlineData("{ \"prices\": [ ", "not valid JSON (line 1")]
    [InlineData("{ \"note\": \"nothing\" }", "neither 'prices'")]
    public void Read_InvalidFile_FormatExceptionSaysWhere(string json, string expected)
    {
        var error = Assert.Throws<FormatException>(() => LlmPriceFile.Read(System.Text.Encoding.UTF8.GetBytes(json), LlmPriceEntry.File, out _));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
