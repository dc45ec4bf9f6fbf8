namespace LlmApm.Otel;

/// <summary>
/// A model's price prepared once for the cost of every call: the four per-million prices as integers at one decimal
/// scale, so that a call's cost is integer multiplications and additions instead of a <c>decimal</c> division. The
/// result is the same <c>decimal</c> as <see cref="LlmPriceTable.ComputeCost(LlmModelPrice, long, long, long, long)"/>, value and scale (which shows in
/// JSON: <c>0.0025</c>, not <c>0.0025000</c>); where that cannot be guaranteed (prices or token counts beyond 32 bits,
/// more than 22 decimals) the cost is computed by <c>ComputeCost</c> itself. A price knows its entry id and its
/// tiers (<see cref="ForInput"/>), so that choosing a tier and naming it allocates nothing.
/// </summary>
internal sealed class LlmTokenPrice
{
    // ComputeCost's decimal arithmetic is exact, and its scale predictable, while every operand of its products fits
    // in 32 bits and the quotient's scale (the prices' largest scale + 6) stays within decimal's 28.
    private const int MaxScale = 28 - 6;

    private static readonly ulong[] PowersOf10 =
    [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000,
        100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
        10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ];

    private static readonly UInt128 MaxMantissa = (UInt128)1 << 96;

    private static readonly LlmTokenPrice[] NoTiers = [];

    private readonly LlmModelPrice price;
    private readonly bool integral;
    private readonly byte scale;
    private readonly ulong input;
    private readonly ulong cachedInput;
    private readonly ulong cacheWrite;
    private readonly ulong output;
    private readonly LlmTokenPrice[] tiers;

    /// <summary>Initializes a new instance of the <see cref="LlmTokenPrice"/> class from a copy of
    /// <paramref name="price"/>: the table's prices are fixed when it is built.</summary>
    /// <param name="price">The price per million tokens.</param>
    /// <param name="id">The price entry id, for the <c>llm.price</c> tag.</param>
    /// <param name="aboveInputTokens">For a tier, the input tokens above which it applies; 0 for the base price.</param>
    /// <param name="tiers">The tiers above the base price, by ascending threshold.</param>
    public LlmTokenPrice(LlmModelPrice price, string id = "", long aboveInputTokens = 0, IReadOnlyList<LlmTokenPrice>? tiers = null)
    {
        this.Id = id;
        this.AboveInputTokens = aboveInputTokens;
        this.tiers = tiers is { Count: > 0 } ? [.. tiers] : NoTiers;
        this.price = new LlmModelPrice
        {
            InputPerMillion = price.InputPerMillion,
            CachedInputPerMillion = price.CachedInputPerMillion,
            CacheWriteInputPerMillion = price.CacheWriteInputPerMillion,
            OutputPerMillion = price.OutputPerMillion,
        };
        var cachedRate = price.CachedInputPerMillion ?? price.InputPerMillion;
        var writeRate = price.CacheWriteInputPerMillion ?? price.InputPerMillion;
        if (!TryParts(price.InputPerMillion, out var inputMantissa, out var inputScale)
            || !TryParts(cachedRate, out var cachedMantissa, out var cachedScale)
            || !TryParts(writeRate, out var writeMantissa, out var writeScale)
            || !TryParts(price.OutputPerMillion, out var outputMantissa, out var outputScale))
        {
            return;
        }

        var common = Math.Max(Math.Max(inputScale, writeScale), Math.Max(cachedScale, outputScale));
        if (common > MaxScale
            || !TryRescale(inputMantissa, common - inputScale, out this.input)
            || !TryRescale(cachedMantissa, common - cachedScale, out this.cachedInput)
            || !TryRescale(writeMantissa, common - writeScale, out this.cacheWrite)
            || !TryRescale(outputMantissa, common - outputScale, out this.output))
        {
            return;
        }

        this.scale = (byte)common;
        this.integral = true;
    }

    /// <summary>Gets the price this was prepared from (a copy).</summary>
    public LlmModelPrice Price => this.price;

    /// <summary>Gets the price entry id (<c>llm.price</c>): <c>provider/model@date</c>, with <c>#&gt;200k</c> for a tier.</summary>
    public string Id { get; }

    /// <summary>Gets the input tokens above which this tier applies; 0 for a base price.</summary>
    public long AboveInputTokens { get; }

    /// <summary>Returns the price for a call of <paramref name="inputTokens"/> input tokens: the highest tier whose
    /// threshold it passes, else this base price. A tier prices the whole call, as providers bill long contexts.</summary>
    /// <param name="inputTokens">All input tokens of the call, cached ones included.</param>
    /// <returns>The price to compute the call's cost with.</returns>
    public LlmTokenPrice ForInput(long inputTokens)
    {
        var chosen = this;
        foreach (var tier in this.tiers)
        {
            if (inputTokens <= tier.AboveInputTokens)
            {
                break;
            }

            chosen = tier;
        }

        return chosen;
    }

    /// <summary>Computes the cost of one call at this price (no tier chosen), as <see cref="LlmPriceTable.ComputeCost(LlmModelPrice, long, long, long)"/> does.</summary>
    /// <param name="inputTokens">All input tokens, cached ones included.</param>
    /// <param name="cachedInputTokens">The cached part of the input tokens.</param>
    /// <param name="outputTokens">All output tokens, reasoning ones included.</param>
    /// <returns>The cost in US dollars.</returns>
    public decimal Cost(long inputTokens, long cachedInputTokens, long outputTokens) => this.Cost(inputTokens, cachedInputTokens, 0, outputTokens);

    /// <summary>Computes the cost of one call at this price (no tier chosen), as <see cref="LlmPriceTable.ComputeCost(LlmModelPrice, long, long, long, long)"/> does.</summary>
    /// <param name="inputTokens">All input tokens, cached and cache-write ones included.</param>
    /// <param name="cachedInputTokens">The part of the input tokens read from the cache.</param>
    /// <param name="cacheWriteTokens">The part of the input tokens written to the cache.</param>
    /// <param name="outputTokens">All output tokens, reasoning ones included.</param>
    /// <returns>The cost in US dollars.</returns>
    public decimal Cost(long inputTokens, long cachedInputTokens, long cacheWriteTokens, long outputTokens)
    {
        var input = Math.Max(inputTokens, 0);
        var cached = Math.Clamp(cachedInputTokens, 0, input);
        var written = Math.Clamp(cacheWriteTokens, 0, input - cached);
        var uncached = input - cached - written;
        var output = Math.Max(outputTokens, 0);
        if (!this.integral || ((ulong)(uncached | cached | written | output) > uint.MaxValue))
        {
            return LlmPriceTable.ComputeCost(this.price, inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens);
        }

        // The sum of ComputeCost at the prices' common scale, as an integer: each product is below 2^96.
        var sum = ((UInt128)(ulong)uncached * this.input) + ((UInt128)(ulong)cached * this.cachedInput)
            + ((UInt128)(ulong)written * this.cacheWrite) + ((UInt128)(ulong)output * this.output);
        if (sum >= MaxMantissa)
        {
            return LlmPriceTable.ComputeCost(this.price, inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens);
        }

        // sum / 10^6: the sum itself at six more decimals. Decimal division keeps the dividend's scale when the
        // quotient is exact there, and otherwise gives the exact quotient without trailing zeros: strip them, down
        // to the prices' scale at most.
        var scale = this.scale + 6;
        if (sum == 0)
        {
            scale = this.scale;
        }
        else if (sum <= ulong.MaxValue)
        {
            var small = (ulong)sum;
            while (scale > this.scale && small % 10 == 0)
            {
                small /= 10;
                scale--;
            }

            sum = small;
        }
        else
        {
            while (scale > this.scale && sum % 10 == 0)
            {
                sum /= 10;
                scale--;
            }
        }

        return new decimal((int)(uint)sum, (int)(uint)(sum >> 32), (int)(uint)(sum >> 64), isNegative: false, (byte)scale);
    }

    /// <summary>The mantissa and scale of a price that is not negative and whose mantissa fits in 32 bits.</summary>
    private static bool TryParts(decimal value, out ulong mantissa, out int scale)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        scale = (bits[3] >> 16) & 0xFF;
        mantissa = (uint)bits[0];
        return bits[1] == 0 && bits[2] == 0 && bits[3] >= 0;
    }

    /// <summary>Multiplies a 32-bit mantissa by 10^<paramref name="power"/> when the result fits in 64 bits.</summary>
    private static bool TryRescale(ulong mantissa, int power, out ulong rescaled)
    {
        if (power >= PowersOf10.Length)
        {
            // 10^20 and above do not fit in 64 bits: only a zero price does.
            rescaled = 0;
            return mantissa == 0;
        }

        var value = (UInt128)mantissa * PowersOf10[power];
        rescaled = (ulong)value;
        return value <= ulong.MaxValue;
    }
}
