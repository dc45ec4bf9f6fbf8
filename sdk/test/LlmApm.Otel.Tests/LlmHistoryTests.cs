using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests;

public class LlmHistoryTests
{
    [Fact]
    public void InMemoryStore_BeyondCapacity_KeepsNewestAndPagesNewestFirst()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 10);
        for (var i = 0; i < 25; i++)
        {
            store.Add(Record($"id{i}", status: i % 2 == 0 ? "ok" : "error", model: i % 3 == 0 ? "gpt-4o" : "gpt-4o-mini"));
        }

        var page = store.Query(new LlmHistoryQuery { Limit = 4 });
        Assert.Equal(["id24", "id23", "id22", "id21"], page.Select(r => r.Id));
        var next = store.Query(new LlmHistoryQuery { Limit = 4, Before = page[^1].Seq });
        Assert.Equal(["id20", "id19", "id18", "id17"], next.Select(r => r.Id));
        Assert.Equal(10, store.Query(new LlmHistoryQuery { Limit = 500 }).Count);
        Assert.Null(store.Find("id14"));
        Assert.NotNull(store.Find("id15"));
        Assert.All(store.Query(new LlmHistoryQuery { Status = "error" }), r => Assert.Equal("error", r.Status));
        Assert.All(store.Query(new LlmHistoryQuery { Model = "gpt-4o" }), r => Assert.Equal("gpt-4o", r.Model));
        Assert.Equal("id21", Assert.Single(store.Query(new LlmHistoryQuery { Q = "ID21" })).Id);
    }

    [Fact]
    public async Task InMemoryStore_ConcurrentWritersAndReaders_NeverThrowOrLoseTheNewest()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 100);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 5000; i++)
            {
                store.Add(Record($"w{w}-{i}"));
            }
        }));
        var reader = Task.Run(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                var page = store.Query(new LlmHistoryQuery { Limit = 50 });
                Assert.True(page.Zip(page.Skip(1)).All(p => p.First.Seq > p.Second.Seq));
            }
        });
        await Task.WhenAll([.. writers, reader]);
        Assert.Equal(20_000, store.TotalAdded);
        Assert.Equal(100, store.Query(new LlmHistoryQuery { Limit = 500 }).Count);
    }

    [Fact]
    public async Task Feed_SlowSubscriber_IsDroppedWithoutBlockingPublisher()
    {
        var feed = new LlmHistoryFeed();
        using var slow = feed.Subscribe(bufferSize: 4);
        using var fast = feed.Subscribe(bufferSize: 1000);
        for (var i = 0; i < 100; i++)
        {
            feed.Publish(Record($"r{i}"));
        }

        Assert.True(slow.WasDropped);
        Assert.False(fast.WasDropped);
        Assert.Equal(1, feed.SubscriberCount);

        // The slow reader gets what fit in its buffer, then its reader completes.
        var got = new List<string>();
        await foreach (var record in slow.Reader.ReadAllAsync())
        {
            got.Add(record.Id);
        }

        Assert.Equal(["r0", "r1", "r2", "r3"], got);
        Assert.Equal(100, fast.Reader.Count);
    }

    [Fact]
    public void Analytics_Summarize_ComputesRatesPercentilesTokensCostByModel()
    {
        var now = DateTimeOffset.UtcNow;
        var records = Enumerable.Range(1, 100).Select(i => Record(
            $"r{i}",
            status: i <= 5 ? "error" : "ok",
            model: i % 2 == 0 ? "gpt-4o" : "gpt-4o-mini",
            durationMs: i,
            start: now.AddSeconds(-i),
            errorType: i <= 5 ? "timeout" : null)).ToList();
        records.Add(Record("old", start: now.AddHours(-2)));

        var summary = LlmHistoryAnalytics.Summarize(records, now.AddMinutes(-5), now.AddSeconds(1));
        Assert.Equal(100, summary.Count);
        Assert.Equal(5, summary.ErrorCount);
        Assert.Equal(0.05, summary.ErrorRate, 10);
        Assert.NotNull(summary.LatencyMs);
        Assert.Equal(50.5, summary.LatencyMs.Avg, 10);
        // Percentiles are read from the latency buckets: within 9.06% of the nearest-rank value.
        Assert.InRange(summary.LatencyMs.P50, 50 / 1.0906, 50 * 1.0906);
        Assert.InRange(summary.LatencyMs.P95, 95 / 1.0906, 95 * 1.0906);
        Assert.InRange(summary.LatencyMs.P99, 99 / 1.0906, 99 * 1.0906);
        Assert.Equal(1000, summary.Tokens.Input);
        Assert.Equal(1.00m, summary.CostUsd);
        Assert.Equal(5, summary.ErrorsByType["timeout"]);
        Assert.Equal(2, summary.ByModel.Count);
        Assert.Equal(50, summary.ByModel.Single(m => m.Model == "gpt-4o").Count);

        var empty = LlmHistoryAnalytics.Summarize(Array.Empty<LlmRequestRecord>(), now.AddMinutes(-1), now);
        Assert.Equal(0, empty.Count);
        Assert.Equal(0, empty.ErrorRate);
        Assert.Null(empty.LatencyMs);
    }

    [Fact]
    public void Analytics_TimeSeries_CoversWindowWithEmptyBuckets()
    {
        var to = new DateTimeOffset(2026, 11, 26, 20, 5, 0, TimeSpan.Zero);
        var from = to.AddMinutes(-5);
        var records = new[]
        {
            Record("a", start: from.AddSeconds(1)),
            Record("b", start: from.AddSeconds(14), status: "error", errorType: "timeout"),
            Record("c", start: to.AddSeconds(-1)),
        };

        var buckets = LlmHistoryAnalytics.TimeSeries(records, from, to, TimeSpan.FromSeconds(15));
        Assert.Equal(20, buckets.Count);
        Assert.Equal(from, buckets[0].Start);
        Assert.Equal(2, buckets[0].Count);
        Assert.Equal(1, buckets[0].ErrorsByType["timeout"]);
        Assert.Equal(1, buckets[^1].Count);
        Assert.All(buckets.Skip(1).SkipLast(1), b => Assert.Equal(0, b.Count));
    }

    internal static LlmRequestRecord Record(
        string id, string status = "ok", string? model = "gpt-4o-mini", double durationMs = 10, DateTimeOffset? start = null, string? errorType = null) => new()
        {
            Id = id,
            TraceId = "0af7651916cd43dd8448eb211c80319c",
            Route = "/api/chat",
            Status = status,
            ErrorType = errorType,
            Model = model,
            DurationMs = durationMs,
            StartTime = start ?? DateTimeOffset.UtcNow,
            Usage = new LlmUsage(10, 5),
            CostUsd = 0.01m,
        };
}
