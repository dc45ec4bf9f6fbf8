using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests;

/// <summary>Summaries and time series over records the real SDK recorded: unpriced requests never read as free, and
/// a bucket without requests has no latency rather than a latency of 0.</summary>
public class LlmHistoryAnalyticsTests
{
    private const string UnpricedModel = "my-unpriced-model";

    [Fact]
    public void Summarize_UnpricedModel_CountsUnpricedInTotalAndPerModelAndKeepsKnownCost()
    {
        using var host = TestHost.Start();
        var from = DateTimeOffset.UtcNow.AddSeconds(-1);
        Record(host, "gpt-4o-mini", 1000, 500);
        Record(host, UnpricedModel, 1000, 500);
        Record(host, UnpricedModel, 10, 5);
        var records = host.History.Query(new LlmHistoryQuery { Limit = 500 });

        var summary = LlmHistoryAnalytics.Summarize(records, from, DateTimeOffset.UtcNow.AddSeconds(1));

        var priced = records.Single(r => r.Model == "gpt-4o-mini");
        Assert.NotNull(priced.CostUsd);
        Assert.True(priced.CostUsd > 0);
        Assert.Equal(3, summary.Count);
        Assert.Equal(2, summary.UnpricedCount);
        Assert.Equal(priced.CostUsd, summary.CostUsd);
        var unpriced = summary.ByModel.Single(m => m.Model == UnpricedModel);
        Assert.Equal(2, unpriced.Count);
        Assert.Equal(2, unpriced.UnpricedCount);
        Assert.Equal(0, unpriced.CostUsd);
        var known = summary.ByModel.Single(m => m.Model == "gpt-4o-mini");
        Assert.Equal(0, known.UnpricedCount);
        Assert.Equal(priced.CostUsd, known.CostUsd);
    }

    [Fact]
    public void TimeSeries_EmptyBuckets_HaveNoLatencyAndBucketsCountTheirUnpriced()
    {
        using var host = TestHost.Start();
        Record(host, UnpricedModel, 100, 50);
        Record(host, "gpt-4o-mini", 100, 50);
        var records = host.History.Query(new LlmHistoryQuery { Limit = 500 });
        var to = DateTimeOffset.UtcNow.AddSeconds(1);

        var buckets = LlmHistoryAnalytics.TimeSeries(records, to.AddMinutes(-5), to, TimeSpan.FromSeconds(15));

        var busy = buckets.Where(b => b.Count > 0).ToList();
        Assert.NotEmpty(busy);
        Assert.Equal(2, busy.Sum(b => b.Count));
        Assert.Equal(1, busy.Sum(b => b.UnpricedCount));
        Assert.All(busy, b => Assert.NotNull(b.LatencyMs));
        Assert.All(busy, b => Assert.True(b.LatencyMs!.P95 > 0));
        var empty = buckets.Where(b => b.Count == 0).ToList();
        Assert.NotEmpty(empty);
        Assert.All(empty, b => Assert.Null(b.LatencyMs));
        Assert.All(empty, b => Assert.Equal(0, b.UnpricedCount));
    }

    [Fact]
    public void TimeSeries_SeveralRequestsInABucket_NamesTheSlowest()
    {
        var start = new DateTimeOffset(2026, 11, 26, 20, 0, 0, TimeSpan.Zero);
        LlmRequestRecord[] records =
        [
            Made("a", start.AddSeconds(1), 120),
            Made("b", start.AddSeconds(2), 900),
            Made("c", start.AddSeconds(3), 900),
            Made("d", start.AddSeconds(16), 40),
        ];

        var buckets = LlmHistoryAnalytics.TimeSeries(records, start, start.AddSeconds(45), TimeSpan.FromSeconds(15));

        Assert.Equal(3, buckets.Count);
        Assert.Equal(new LlmSlowestRequest("b", 900), buckets[0].Slowest);
        Assert.Equal(new LlmSlowestRequest("d", 40), buckets[1].Slowest);
        Assert.Null(buckets[2].Slowest);
    }

    [Fact]
    public void Summarize_NoRequests_HasNoLatency()
    {
        var now = DateTimeOffset.UtcNow;

        var summary = LlmHistoryAnalytics.Summarize(Array.Empty<LlmRequestRecord>(), now.AddMinutes(-1), now);

        Assert.Equal(0, summary.Count);
        Assert.Null(summary.LatencyMs);
        Assert.Equal(0, summary.UnpricedCount);
    }

    private static LlmRequestRecord Made(string id, DateTimeOffset start, double durationMs)
        => new() { Id = id, TraceId = "0af7651916cd43dd8448eb211c80319c", Route = "/api/chat", Status = "ok", StartTime = start, DurationMs = durationMs };

    private static void Record(TestHost host, string model, long input, long output)
    {
        using var request = host.Instrumentation.StartRequest("/api/chat");
        using (LlmStep.Start("llm_api_call"))
        {
            Thread.Sleep(1); // a measurable latency, so that a bucket with requests has figures above 0
            request.RecordUsage(model, new LlmUsage(input, output));
        }
    }
}
