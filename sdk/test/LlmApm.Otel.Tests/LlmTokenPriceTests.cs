using System.Globalization;

namespace LlmApm.Otel.Tests;

/// <summary>Costs from prepared prices (<see cref="LlmTokenPrice"/>) and the model resolution that caches them.</summary>
public class LlmTokenPriceTests
{
    private static readonly long[] TokenCounts = [-1, 0, 1, 7, 42, 350, 999, 1000, 1200, 123_456, 1_000_000, 4_294_967_295, 4_294_967_296, 10_000_000_000];

    [Fact]
    public void Cost_ShippedPrices_SameDecimalAsComputeCost()
    {
        var table = new LlmPriceTable();
        foreach (var model in table.Models)
        {
            Assert.True(table.TryGetPrice(model, out _, out var price));
            Assert.True(table.TryGetTokenPrice(model, out var canonical, out var prepared));
            Assert.Equal(model, canonical);
            foreach (var input in TokenCounts)
            {
                foreach (var cached in TokenCounts)
                {
                    foreach (var output in TokenCounts)
                    {
                        AssertSameDecimal(LlmPriceTable.ComputeCost(price, input, cached, output), prepared.Cost(input, cached, output));
                    }
                }
            }
        }
    }

    [Fact]
    public void Cost_RandomPricesAndTokens_SameDecimalAsComputeCost()
    {
        // Value and scale: the cost is serialized as it is (0.0025, not 0.0025000).
        var random = new Random(6);
        for (var i = 0; i < 200_000; i++)
        {
            var price = new LlmModelPrice
            {
                InputPerMillion = RandomPrice(random),
                CachedInputPerMillion = random.Next(3) == 0 ? null : RandomPrice(random),
                OutputPerMillion = RandomPrice(random),
            };
            var prepared = new LlmTokenPrice(price);
            long input = RandomTokens(random), cached = RandomTokens(random), output = RandomTokens(random);
            decimal expected;
            try
            {
                expected = LlmPriceTable.ComputeCost(price, input, cached, output);
            }
            catch (OverflowException)
            {
                Assert.Throws<OverflowException>(() => prepared.Cost(input, cached, output));
                continue;
            }

            AssertSameDecimal(expected, prepared.Cost(input, cached, output));
        }
    }

    [Fact]
    public void Cost_Examples_ExactToTheLastDecimal()
    {
        var price = new LlmModelPrice { InputPerMillion = 2.50m, CachedInputPerMillion = 1.25m, OutputPerMillion = 10.00m };
        var prepared = new LlmTokenPrice(price);
        Assert.Equal("0.007", prepared.Cost(1000, 400, 500).ToString(CultureInfo.InvariantCulture));
        Assert.Equal("0.0025", prepared.Cost(1000, 0, 0).ToString(CultureInfo.InvariantCulture));
        Assert.Equal("0.00", prepared.Cost(0, 0, 0).ToString(CultureInfo.InvariantCulture));
        Assert.Equal("2500.00", prepared.Cost(1_000_000_000, 0, 0).ToString(CultureInfo.InvariantCulture));
        foreach (var (input, cached, output) in new[] { (1000L, 400L, 500L), (1000L, 0L, 0L), (0L, 0L, 0L), (1_000_000_000L, 0L, 0L) })
        {
            AssertSameDecimal(LlmPriceTable.ComputeCost(price, input, cached, output), prepared.Cost(input, cached, output));
        }

        var sum = 0m;
        var tiny = new LlmTokenPrice(new LlmModelPrice { InputPerMillion = 0.15m, OutputPerMillion = 0.60m });
        for (var i = 0; i < 1000; i++)
        {
            sum += tiny.Cost(1, 0, 1);
        }

        Assert.Equal(0.00075m, sum);
    }

    [Fact]
    public void Resolve_RepeatedModel_SameTagAndPriceAsTheTable()
    {
        using var host = TestHost.Start(o => o.Models.Add("my-llama"));
        var models = host.Instrumentation.Models;
        var first = models.Resolve("gpt-4o-mini-2024-07-18");
        Assert.Equal("gpt-4o-mini", first.Tag);
        Assert.NotNull(first.Price);
        Assert.Same(first, models.Resolve("gpt-4o-mini-2024-07-18"));
        Assert.Same(first, models.Resolve(new string("gpt-4o-mini-2024-07-18".AsSpan())));
        Assert.Equal("gpt-4o", models.Resolve("GPT-4o").Tag);
        Assert.Same(first, models.Resolve("gpt-4o-mini-2024-07-18"));

        var declared = models.Resolve("my-llama");
        Assert.Equal("my-llama", declared.Tag);
        Assert.Null(declared.Price);
        Assert.Equal("other", models.Resolve("someone-elses-model").Tag);
        Assert.Equal("unknown", models.Resolve(null).Tag);
        Assert.Equal("unknown", models.Resolve("  ").Tag);
        Assert.Equal("unknown", models.Resolve(string.Empty).Tag);
    }

    [Fact]
    public void Resolve_ManySpellingsAndUnknownNames_KeepsABoundedSet()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var instrumentation = host.Instrumentation;
        for (var i = 0; i < 5000; i++)
        {
            // Dated spellings of a priced family, and names nobody prices.
            Assert.Equal("gpt-4o", instrumentation.Models.Tag($"gpt-4o-{20_000_000 + i}"));
            Assert.Equal("other", instrumentation.Models.Tag($"unknown-model-{i}"));
        }

        Assert.Equal(ModelTagger.MaxCachedNames, instrumentation.Models.CachedNames);

        // Beyond the bound names are still tagged and priced, each time.
        var cost = instrumentation.RecordUsage(null, "gpt-4o-99999999", new LlmUsage(1000, 100));
        Assert.Equal((1000 * 2.50m + 100 * 10.00m) / 1_000_000m, cost);
        Assert.Equal(1000, metrics.Sum("llm.tokens", ("model", "gpt-4o"), ("type", "input")));
    }

    [Fact]
    public void RecordUsage_AlternatingModels_CostAndTagsOfEach()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var instrumentation = host.Instrumentation;
        decimal? total = 0m;
        for (var i = 0; i < 10; i++)
        {
            total += instrumentation.RecordUsage(null, "gpt-4o-mini", new LlmUsage(1000, 100));
            total += instrumentation.RecordUsage(null, "gpt-4o", new LlmUsage(1000, 100));
            Assert.Null(instrumentation.RecordUsage(null, "private-model", new LlmUsage(1000, 100)));
        }

        Assert.Equal(10 * (((1000 * 0.15m) + (100 * 0.60m) + (1000 * 2.50m) + (100 * 10.00m)) / 1_000_000m), total);
        Assert.Equal(10_000, metrics.Sum("llm.tokens", ("model", "gpt-4o-mini"), ("type", "input")));
        Assert.Equal(10_000, metrics.Sum("llm.tokens", ("model", "gpt-4o"), ("type", "input")));
        Assert.Equal(10_000, metrics.Sum("llm.tokens", ("model", "other"), ("type", "input")));
        Assert.Equal(10, metrics.Sum("llm.price.misses", ("model", "private-model")));
        Assert.Equal(10 * 0.00021, metrics.Sum("llm.cost.usd", ("model", "gpt-4o-mini")), 1e-12);
    }

    private static void AssertSameDecimal(decimal expected, decimal actual)
    {
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Scale, actual.Scale);
        Assert.Equal(decimal.GetBits(expected), decimal.GetBits(actual));
    }

    private static decimal RandomPrice(Random random)
    {
        long mantissa = random.Next(4) switch
        {
            0 => 0,
            1 => random.Next(0, 1000),
            2 => random.NextInt64(0, 5_000_000_000),
            _ => random.NextInt64(0, 100_000_000),
        };
        if (random.Next(3) == 0)
        {
            mantissa = mantissa / 1000 * 1000;
        }

        return new decimal((int)(mantissa & 0xFFFFFFFF), (int)(mantissa >> 32), random.Next(50) == 0 ? random.Next(1, 3) : 0, false, (byte)random.Next(0, random.Next(50) == 0 ? 29 : 12));
    }

    private static long RandomTokens(Random random) => random.Next(7) switch
    {
        0 => 0,
        1 => random.Next(-3, 10),
        2 => random.Next(0, 100_000),
        3 => random.NextInt64(0, 10_000_000_000),
        4 => random.NextInt64(uint.MaxValue - 3L, uint.MaxValue + 3L),
        5 => random.Next(0, 2000) * 1000L,
        _ => random.Next(0, 5000),
    };
}
