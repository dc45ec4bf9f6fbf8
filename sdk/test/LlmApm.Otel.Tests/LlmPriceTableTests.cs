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
}
