using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests;

/// <summary>The rollups answer what reading every record answers: counts, tokens, cost and errors exactly, percentiles
/// within the latency buckets' bound, for every window and filter the history API asks.</summary>
public class LlmHistoryRollupsTests
{
    private const double Bound = 1.0906; // one latency bucket: 2^(1/8)

    // A whole minute, so that the coarse periods and the reference cover the same window.
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 20, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Aggregate_DayOfRequests_EqualsReadingEveryRecord()
    {
        var records = Generate(20_000, TimeSpan.FromHours(24), seed: 1);
        var store = new InMemoryLlmHistoryStore(capacity: 500);
        foreach (var record in records)
        {
            store.Add(record);
        }

        // The ring keeps 500; the rollups count all 20,000.
        Assert.Equal(500, store.Query(new LlmHistoryQuery { Limit = 500 }).Count);
        foreach (var query in Queries(Now.AddHours(-24), Now, TimeSpan.FromMinutes(30)))
        {
            AssertSameCells(LlmHistoryAnalytics.Aggregate(records, query), ((ILlmHistoryStore)store).Aggregate(query));
        }

        var summary = LlmHistoryAnalytics.SummarizeCells(
            ((ILlmHistoryStore)store).Aggregate(new LlmHistoryAggregateQuery { From = Now.AddHours(-24), To = Now, Bucket = TimeSpan.FromHours(24) }),
            Now.AddHours(-24),
            Now);
        Assert.Equal(records.Count, summary.Count);
        var sorted = records.Select(r => r.DurationMs).Order().ToList();
        Assert.Equal(sorted.Average(), summary.LatencyMs!.Avg, 6);
        AssertWithinBound(LlmHistoryAnalytics.Percentile(sorted, 0.50), summary.LatencyMs.P50);
        AssertWithinBound(LlmHistoryAnalytics.Percentile(sorted, 0.95), summary.LatencyMs.P95);
        AssertWithinBound(LlmHistoryAnalytics.Percentile(sorted, 0.99), summary.LatencyMs.P99);
        foreach (var model in summary.ByModel)
        {
            var ofModel = records.Where(r => (r.Model ?? "unknown") == model.Model).Select(r => r.DurationMs).Order().ToList();
            Assert.Equal(ofModel.Count, model.Count);
            AssertWithinBound(LlmHistoryAnalytics.Percentile(ofModel, 0.95), model.LatencyMs!.P95);
        }
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(5, 15)]
    public void Aggregate_RecentWindowOfFineBuckets_EqualsReadingEveryRecord(int minutes, int bucketSeconds)
    {
        var records = Generate(5_000, TimeSpan.FromMinutes(minutes), seed: minutes);
        var store = new InMemoryLlmHistoryStore(capacity: 100);
        foreach (var record in records)
        {
            store.Add(record);
        }

        foreach (var query in Queries(Now.AddMinutes(-minutes), Now, TimeSpan.FromSeconds(bucketSeconds)))
        {
            AssertSameCells(LlmHistoryAnalytics.Aggregate(records, query), ((ILlmHistoryStore)store).Aggregate(query));
        }
    }

    [Fact]
    public void Aggregate_SummaryOfFiveMinutesEndingNow_StartsAtItsFiveSecondStep()
    {
        // Records over six minutes; the summary's window starts 5 s past a minute and ends between two steps.
        var records = Generate(3_000, TimeSpan.FromMinutes(6), seed: 11);
        var store = new InMemoryLlmHistoryStore(capacity: 100);
        foreach (var record in records)
        {
            store.Add(record);
        }

        var from = Now.AddMinutes(-5).AddSeconds(5);
        var to = Now.AddSeconds(2.5); // nothing started after Now: the last period is whole
        var query = new LlmHistoryAggregateQuery { From = from, To = to, Bucket = to - from };

        AssertSameCells(LlmHistoryAnalytics.Aggregate(records, query), ((ILlmHistoryStore)store).Aggregate(query));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(7, 13)]
    public void Aggregate_DayReadAgainAfterLateWrites_CountsThemInTheirHalfHour(int fromMinutes, int toMinutes)
    {
        // Windows on and off the half hours the rollups keep sums of; a second read after writes into past half hours
        // (requests that started long ago and ended late) must count them, not the sums kept by the first read.
        var records = Generate(20_000, TimeSpan.FromHours(24), seed: 3);
        var store = new InMemoryLlmHistoryStore(capacity: 100);
        foreach (var record in records.Take(15_000))
        {
            store.Add(record);
        }

        var from = Now.AddHours(-24).AddMinutes(fromMinutes);
        var to = Now.AddMinutes(-toMinutes);
        var queries = Queries(from, to, TimeSpan.FromMinutes(30)).ToList();
        foreach (var query in queries)
        {
            AssertSameCells(LlmHistoryAnalytics.Aggregate(records.Take(15_000), query), ((ILlmHistoryStore)store).Aggregate(query));
        }

        foreach (var record in records.Skip(15_000))
        {
            store.Add(record);
        }

        foreach (var query in queries)
        {
            AssertSameCells(LlmHistoryAnalytics.Aggregate(records, query), ((ILlmHistoryStore)store).Aggregate(query));
        }
    }

    [Fact]
    public void Add_NextRecordDiffersInOneKeyPart_KeepsItsOwnCell()
    {
        // The rollups try the cell written last before hashing: a record that shares two of model, route and replica
        // with the one before must still land in a cell of its own. Models are new strings, as a provider's are.
        var store = new InMemoryLlmHistoryStore(capacity: 1_000);
        string?[] models = ["gpt-4o", "gpt-4o-mini", null];
        string[] routes = ["/api/chat", "/api/chat/stream"];
        string?[] replicas = ["replica-a", "replica-b", null];
        var records = new List<LlmRequestRecord>();
        for (var i = 0; i < 540; i++)
        {
            var model = models[i % 3];
            records.Add(new LlmRequestRecord
            {
                Id = $"{i:x32}",
                TraceId = $"{i + 1:x32}",
                StartTime = Now.AddSeconds(-1 - (i % 60)),
                DurationMs = 1 + i,
                Route = routes[i / 3 % 2],
                Model = model is null ? null : new string(model.AsSpan()),
                Replica = replicas[i / 6 % 3],
                Status = "ok",
            });
        }

        foreach (var record in records)
        {
            store.Add(record);
        }

        foreach (var route in routes)
        {
            foreach (var replica in replicas.OfType<string>())
            {
                var query = new LlmHistoryAggregateQuery { From = Now.AddMinutes(-5), To = Now, Bucket = TimeSpan.FromMinutes(1), Route = route, Replica = replica };
                var cells = ((ILlmHistoryStore)store).Aggregate(query);
                Assert.Equal(3, cells.Count(c => c.Count > 0));
                AssertSameCells(LlmHistoryAnalytics.Aggregate(records, query), cells);
            }
        }
    }

    [Fact]
    public async Task Add_ConcurrentWriters_LoseNoCount()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 64);
        var records = Generate(40_000, TimeSpan.FromMinutes(3), seed: 7);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = w; i < records.Count; i += 4)
            {
                store.Add(records[i]);
            }
        })));

        var query = new LlmHistoryAggregateQuery { From = Now.AddMinutes(-5), To = Now, Bucket = TimeSpan.FromMinutes(5) };
        AssertSameCells(LlmHistoryAnalytics.Aggregate(records, query), ((ILlmHistoryStore)store).Aggregate(query));
    }

    [Fact]
    public void IndexOf_ValueOnABound_IsInTheBucketItBounds()
    {
        for (var i = 0; i < LlmLatencyBuckets.Count - 1; i++)
        {
            var bound = LlmLatencyBuckets.UpperBound(i);
            Assert.Equal(i, LlmLatencyBuckets.IndexOf(bound));
            Assert.Equal(i + 1, LlmLatencyBuckets.IndexOf(bound * 1.000001));
        }

        Assert.Equal(0, LlmLatencyBuckets.IndexOf(0));
        Assert.Equal(LlmLatencyBuckets.Count - 1, LlmLatencyBuckets.IndexOf(double.MaxValue));
    }

    /// <summary>Records spread over a window before <see cref="Now"/>: three models (one missing), two routes, three
    /// replicas, errors of two types, latencies from 0.01 ms to 100 s, costs with twelve decimals, some unpriced.</summary>
    internal static List<LlmRequestRecord> Generate(int count, TimeSpan window, int seed)
    {
        var random = new Random(seed);
        string?[] models = ["gpt-4o", "gpt-4o-mini", null];
        string[] routes = ["/api/chat", "/api/chat/stream"];
        string[] replicas = ["replica-a", "replica-b", "replica-c"];
        var records = new List<LlmRequestRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var error = random.Next(20) == 0;
            var unpriced = random.Next(10) == 0;
            records.Add(new LlmRequestRecord
            {
                Id = $"{i:x32}",
                TraceId = $"{i + 1:x32}",
                StartTime = Now - TimeSpan.FromTicks((long)(random.NextDouble() * (window.Ticks - 1)) + 1),
                DurationMs = Math.Exp((random.NextDouble() * 16) - 4.6), // 0.01 ms to 90 s, log-uniform
                Route = routes[random.Next(routes.Length)],
                Model = models[random.Next(models.Length)],
                Replica = replicas[random.Next(replicas.Length)],
                Status = error ? "error" : "ok",
                ErrorType = error ? (random.Next(2) == 0 ? "timeout" : "rate_limited") : null,
                Usage = new LlmUsage(random.Next(5000), random.Next(2000), random.Next(100), random.Next(50)) { CacheWriteInputTokens = random.Next(80) },
                CostUsd = unpriced ? null : random.Next(1, 1_000_000) / 1_000_000_000_000m,
                Unpriced = unpriced,
            });
        }

        return records;
    }

    private static IEnumerable<LlmHistoryAggregateQuery> Queries(DateTimeOffset from, DateTimeOffset to, TimeSpan bucket)
    {
        yield return new() { From = from, To = to, Bucket = to - from };
        yield return new() { From = from, To = to, Bucket = bucket };
        yield return new() { From = from, To = to, Bucket = bucket, Replica = "replica-b" };
        yield return new() { From = from, To = to, Bucket = bucket, Model = "gpt-4o", Route = "/api/chat" };
    }

    private static void AssertSameCells(IReadOnlyList<LlmHistoryCell> expected, IReadOnlyList<LlmHistoryCell> actual)
    {
        Assert.Equal(expected.Sum(c => c.Count), actual.Sum(c => c.Count));
        var byKey = actual.ToDictionary(c => (c.Start, c.Model));
        Assert.Equal(expected.Count, actual.Count);
        foreach (var want in expected)
        {
            var got = byKey[(want.Start, want.Model)];
            Assert.Equal(want.Count, got.Count);
            Assert.Equal(want.ErrorCount, got.ErrorCount);
            Assert.Equal(want.Tokens, got.Tokens);
            Assert.Equal(want.CostUsd, got.CostUsd);
            Assert.Equal(want.UnpricedCount, got.UnpricedCount);
            Assert.Equal(want.ErrorsByType.OrderBy(p => p.Key), got.ErrorsByType.OrderBy(p => p.Key));
            Assert.Equal(want.LatencyCounts, got.LatencyCounts);
            // Floating-point sums in another order: equal to a part in a billion.
            Assert.Equal(want.DurationSumMs, got.DurationSumMs, tolerance: 1e-9 * want.DurationSumMs);
        }
    }

    private static void AssertWithinBound(double exact, double estimate)
        => Assert.InRange(estimate, Math.Min(exact / Bound, exact - 0.1), Math.Max(exact * Bound, exact + 0.1));
}
