using LlmApm.Otel.History;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.Tests;

/// <summary>The price file of a running host, reloaded when it changes, and the price entry a call's cost used, on its
/// span and in the history.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class LlmPriceCatalogTests : IDisposable
{
    private static readonly TimeSpan ReloadTimeout = TimeSpan.FromSeconds(20);
    private readonly string directory = Directory.CreateTempSubdirectory("llmapm-prices-").FullName;

    public void Dispose() => Directory.Delete(this.directory, recursive: true);

    [Fact]
    public async Task Reload_FileRewrittenInRunningHost_NextCallUsesTheNewPrice()
    {
        var path = Path.Combine(this.directory, "prices.json");
        await File.WriteAllTextAsync(path, HouseModel(input: 1, date: "2026-11-01"));
        using var host = TestHost.Start(o => o.PriceFile = path);
        var instrumentation = host.Instrumentation;
        Assert.Equal(1m, instrumentation.RecordUsage(null, "house-model", new LlmUsage(1_000_000, 0)));
        var first = instrumentation.PriceCatalog.Status!;
        Assert.Equal((path, (string?)null, 1), (first.Path, first.Error, first.Entries));

        var reloaded = WaitFor(instrumentation.PriceCatalog, s => s.Error is null && s.LoadedAt > first.LoadedAt);
        await File.WriteAllTextAsync(path, HouseModel(input: 3, date: "2026-12-01"));
        await reloaded.WaitAsync(ReloadTimeout);

        Assert.Equal(3m, instrumentation.RecordUsage(null, "house-model", new LlmUsage(1_000_000, 0)));
        Assert.True(instrumentation.Prices.TryGetEntry("fake", "house-model", out var entry));
        Assert.Equal("fake/house-model@2026-12-01", entry.Id);

        // The shipped catalogue stays under the file.
        Assert.NotNull(instrumentation.RecordUsage(null, "gpt-4o", new LlmUsage(1000, 100)));
    }

    [Fact]
    public async Task Reload_BrokenFile_KeepsLastGoodPricesAndReportsTheErrorUntilFixed()
    {
        var path = Path.Combine(this.directory, "prices.json");
        await File.WriteAllTextAsync(path, HouseModel(input: 2, date: "2026-11-01"));
        using var host = TestHost.Start(o => o.PriceFile = path);
        var catalog = host.Instrumentation.PriceCatalog;
        var good = catalog.Status!;

        var failed = WaitFor(catalog, s => s.Error is not null);
        await File.WriteAllTextAsync(path, """{ "prices": [ { "model": "house-model", "input": -5, "output": 1 } ] }""");
        var status = await failed.WaitAsync(ReloadTimeout);

        Assert.Contains("prices[0] (house-model) has a negative price", status.Error, StringComparison.Ordinal);
        Assert.Equal(good.LoadedAt, status.LoadedAt);
        Assert.NotNull(status.FailedAt);
        Assert.Equal(2m, host.Instrumentation.RecordUsage(null, "house-model", new LlmUsage(1_000_000, 0)));

        var fixedAgain = WaitFor(catalog, s => s.Error is null);
        await File.WriteAllTextAsync(path, HouseModel(input: 4, date: "2026-11-02"));
        await fixedAgain.WaitAsync(ReloadTimeout);
        Assert.Equal(4m, host.Instrumentation.RecordUsage(null, "house-model", new LlmUsage(1_000_000, 0)));
    }

    [Fact]
    public void Constructor_MissingFile_ShippedPricesAndTheErrorInTheStatus()
    {
        var path = Path.Combine(this.directory, "absent.json");
        using var host = TestHost.Start(o => o.PriceFile = path);
        var status = host.Instrumentation.PriceCatalog.Status!;
        Assert.Equal(("The price file does not exist.", (DateTimeOffset?)null), (status.Error, status.LoadedAt));
        Assert.NotNull(host.Instrumentation.RecordUsage(null, "gpt-4o", new LlmUsage(1000, 100)));
    }

    [Fact]
    public async Task GetResponseAsync_AnthropicCallWithCacheWrites_SpanAndHistoryNameThePriceEntry()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var usage = new UsageDetails
        {
            InputTokenCount = 10_000,
            CachedInputTokenCount = 6_000,
            OutputTokenCount = 1_000,
            AdditionalCounts = new() { ["CacheCreationInputTokens"] = 2_000 },
        };
        var client = new FakeChatClient
        {
            Usage = usage,
            Model = "claude-sonnet-4-5-20250929",
            Metadata = new ChatClientMetadata("anthropic", null, "claude-sonnet-4-5"),
        }.AsBuilder().UseLlmApm().Build(host.Services);

        // The record as the history processor makes it (the feed's copy: what a store is given to keep).
        using var feed = host.Instrumentation.Feed.Subscribe();
        using (host.Instrumentation.StartRequest("/api/chat"))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);
        }

        host.Flush();
        var call = Assert.Single(host.Exported, a => a.DisplayName == "chat claude-sonnet-4-5");
        Assert.Equal("anthropic/claude-sonnet-4-5@2025-09", call.GetTagItem("llm.price"));

        var record = await feed.Reader.ReadAsync().AsTask().WaitAsync(ReloadTimeout);
        Assert.Equal(((2_000 * 3m) + (6_000 * 0.3m) + (2_000 * 3.75m) + (1_000 * 15m)) / 1_000_000m, record.CostUsd);
        var step = Assert.Single(record.Steps, s => s.Kind == LlmStepKinds.LlmCall);
        Assert.Equal("anthropic/claude-sonnet-4-5@2025-09", step.Price);
        Assert.Equal(10_000, metrics.Sum("llm.tokens", ("model", "claude-sonnet-4-5"), ("type", "input")));
    }

    private static string HouseModel(decimal input, string date) =>
        $$"""
        { "schemaVersion": 2, "prices": [ { "provider": "fake", "model": "house-model", "input": {{input}}, "output": 1, "source": "https://prices.example.test", "date": "{{date}}" } ] }
        """;

    /// <summary>Completes with the first reload outcome that satisfies <paramref name="done"/>.</summary>
    private static Task<LlmPriceFileStatus> WaitFor(LlmPriceCatalog catalog, Func<LlmPriceFileStatus, bool> done)
    {
        var outcome = new TaskCompletionSource<LlmPriceFileStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        catalog.Reloaded += status =>
        {
            if (done(status))
            {
                outcome.TrySetResult(status);
            }
        };
        return outcome.Task;
    }
}
