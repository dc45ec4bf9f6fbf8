using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using LlmApm.Otel.History;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Tests;

/// <summary>Budgets through the real pipeline: <c>UseLlmApm()</c> chat clients and embedding generators of fixed cost,
/// the ledger's windows, <c>llm.budget.spent_ratio</c>, seeding from the history and the start-up validation.</summary>
public sealed class LlmBudgetLedgerTests
{
    /// <summary>A model priced so that a call of the fake (10 input tokens, 5 output) costs exactly 1 USD.</summary>
    private const string Model = "budget-model";

    private static readonly LlmModelPrice OneDollarPerCall = new() { InputPerMillion = 100_000m, OutputPerMillion = 0m };

    [Fact]
    public async Task GetResponseAsync_SixteenWayConcurrencyAgainstHardBudget_StopsWithinSixteenCallsOfTheLimit()
    {
        const int Workers = 16;
        const int CallsPerWorker = 10;
        const decimal Limit = 20m;
        using var host = StartHost(o => o.Budgets["all"] = new LlmBudgetOptions { LimitUsd = Limit, Period = LlmBudgetPeriod.Month, Hard = true });
        var client = Client(host, TimeSpan.FromMilliseconds(5));
        var refused = new ConcurrentBag<LlmBudgetExceededException>();
        var answered = 0;

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < CallsPerWorker; i++)
            {
                using var request = host.Instrumentation.StartRequest("/chat");
                try
                {
                    await client.GetResponseAsync("hello");
                    Interlocked.Increment(ref answered);
                }
                catch (LlmBudgetExceededException ex)
                {
                    refused.Add(ex);
                    Assert.Equal(LlmErrorTypes.BudgetExceeded, request.ErrorType);
                }
            }
        })));

        var spent = Spent(host, "all");
        Assert.Equal(answered, spent);
        Assert.InRange(spent, Limit, Limit + Workers);
        Assert.Equal((Workers * CallsPerWorker) - answered, refused.Count);
        Assert.NotEmpty(refused);
        Assert.All(refused, ex =>
        {
            Assert.Equal("all", ex.BudgetName);
            Assert.Null(ex.Key);
            Assert.Equal(Limit, ex.LimitUsd);
            Assert.True(ex.SpentUsd >= Limit);
            Assert.Equal(NextMonth(), ex.ResetsAt);
        });

        var failed = host.History.Query(new LlmHistoryQuery { Limit = 500 }).Where(r => r.ErrorType == LlmErrorTypes.BudgetExceeded).ToList();
        Assert.Equal(refused.Count, failed.Count);
        Assert.All(failed, r => Assert.Empty(r.Steps));
    }

    [Fact]
    public async Task GetStreamingResponseAsync_HardBudgetPerTenantSpent_RefusesOnlyThatTenantBeforeTheProvider()
    {
        using var host = StartHost(o => o.Budgets["per-tenant"] = new LlmBudgetOptions { Scope = LlmBudgetScope.Tenant, LimitUsd = 2m, Hard = true });
        var provider = new CountingChatClient(new FakeChatClient { Model = Model, Metadata = new("fake", null, Model) });
        var client = provider.AsBuilder().UseLlmApm().Build(host.Services);

        for (var i = 0; i < 2; i++)
        {
            using var request = host.Instrumentation.StartRequest("/chat");
            request.TenantId = "acme";
            await foreach (var update in client.GetStreamingResponseAsync("hello"))
            {
                Assert.NotNull(update);
            }
        }

        Assert.Equal(2, provider.Calls);
        using (var request = host.Instrumentation.StartRequest("/chat"))
        {
            request.TenantId = "acme";
            var ex = await Assert.ThrowsAsync<LlmBudgetExceededException>(async () =>
            {
                await foreach (var update in client.GetStreamingResponseAsync("hello"))
                {
                    Assert.Fail("The provider must not be called.");
                }
            });
            Assert.Equal(("per-tenant", "acme", 2m, 2m), (ex.BudgetName, ex.Key, ex.LimitUsd, ex.SpentUsd));
            Assert.Equal(LlmErrorTypes.BudgetExceeded, request.ErrorType);
        }

        using (var other = host.Instrumentation.StartRequest("/chat"))
        {
            other.TenantId = "globex";
            await client.GetResponseAsync("hello");
        }

        Assert.Equal(3, provider.Calls);
        Assert.Equal(LlmErrorTypes.BudgetExceeded, host.Instrumentation.ClassifyError(new LlmBudgetExceededException("x", null, 1, 1, DateTimeOffset.UtcNow)));
    }

    [Fact]
    public async Task GenerateAsync_HardBudgetOnModelSpent_RefusesTheEmbeddingCall()
    {
        using var host = StartHost(o =>
        {
            o.Prices["embed-model"] = new LlmModelPrice { InputPerMillion = 1_000_000m };
            o.Budgets["embeddings"] = new LlmBudgetOptions { Scope = LlmBudgetScope.Model, Key = "embed-model", LimitUsd = 3m, Period = LlmBudgetPeriod.Hour, Hard = true };
        });
        var inner = new FixedEmbeddingGenerator();
        var generator = inner.AsBuilder().UseLlmApm().Build(host.Services);

        using (host.Instrumentation.StartRequest("/search"))
        {
            await generator.GenerateAsync(["abc"]);
        }

        using (var request = host.Instrumentation.StartRequest("/search"))
        {
            var ex = await Assert.ThrowsAsync<LlmBudgetExceededException>(() => generator.GenerateAsync(["abc"]));
            Assert.Equal(("embeddings", "embed-model", 3m), (ex.BudgetName, ex.Key, ex.SpentUsd));
            Assert.Equal(LlmErrorTypes.BudgetExceeded, request.ErrorType);
        }

        Assert.Equal(1, inner.Calls);
    }

    [Fact]
    public async Task RecordUsage_SoftBudgetPerUser_GaugeReportsHighestKeyAndSnapshotListsKeysByRatio()
    {
        using var host = StartHost(o =>
        {
            o.Budgets["users-soft"] = new LlmBudgetOptions { Scope = LlmBudgetScope.User, LimitUsd = 4m };
            o.Budgets["route-soft"] = new LlmBudgetOptions { Scope = LlmBudgetScope.Route, Key = "/other", LimitUsd = 4m };
        });
        var client = Client(host);
        foreach (var user in new[] { "ann", "bob", "bob", "bob" })
        {
            using var request = host.Instrumentation.StartRequest("/chat");
            request.UserId = user;
            await client.GetResponseAsync("hello");
        }

        using (var manual = host.Instrumentation.StartRequest("/chat"))
        {
            // A client that is not an IChatClient records its usage by hand: it counts too.
            manual.UserId = "ann";
            manual.RecordUsage(Model, new LlmUsage(10, 5));
        }

        var ratios = ObserveRatios();
        Assert.Equal(0.75, ratios["users-soft"]);
        Assert.Equal(0, ratios["route-soft"]);

        var snapshot = host.Instrumentation.Budgets!.Snapshot();
        var users = snapshot.Where(s => s.Budget.Name == "users-soft").ToList();
        Assert.Equal([("bob", 3m), ("ann", 2m)], users.Select(s => (s.Key, s.SpentUsd)));
        Assert.Equal([0.75, 0.5], users.Select(s => s.Ratio));
        var route = Assert.Single(snapshot, s => s.Budget.Name == "route-soft");
        Assert.Equal(("/other", 0m), (route.Key, route.SpentUsd));

        // Soft budgets never refuse.
        using (var over = host.Instrumentation.StartRequest("/chat"))
        {
            over.UserId = "bob";
            await client.GetResponseAsync("hello");
            await client.GetResponseAsync("hello");
            Assert.Null(over.ErrorType);
        }

        Assert.Equal(1.25, ObserveRatios()["users-soft"]);
    }

    [Fact]
    public async Task StartAsync_HistoryHasSpendOfTheWindow_SeedsTheLedgerSoAHardBudgetRefusesAtOnce()
    {
        ILlmHistoryStore store = new InMemoryLlmHistoryStore(100);
        Action<LlmApmOptions> budgets = o =>
        {
            o.Budgets["route-a"] = new LlmBudgetOptions { Scope = LlmBudgetScope.Route, Key = "/a", LimitUsd = 3m, Hard = true };
            o.Budgets["per-model"] = new LlmBudgetOptions { Scope = LlmBudgetScope.Model, LimitUsd = 100m };
        };
        using (var first = StartHost(budgets, store))
        {
            var client = Client(first);
            foreach (var route in new[] { "/a", "/a", "/a", "/b" })
            {
                using var request = first.Instrumentation.StartRequest(route);
                await client.GetResponseAsync("hello");
            }

            Assert.Equal(3m, Spent(first, "route-a", "/a"));
        }

        using var second = StartHost(budgets, store);
        await second.Services.GetServices<IHostedService>().OfType<LlmBudgetSync>().Single().Seeded;
        Assert.Equal(3m, Spent(second, "route-a", "/a"));
        Assert.Equal(4m, Spent(second, "per-model", Model));
        using var refused = second.Instrumentation.StartRequest("/a");
        await Assert.ThrowsAsync<LlmBudgetExceededException>(() => Client(second).GetResponseAsync("hello"));
    }

    [Fact]
    public void Add_NextWindowStarts_SpendStartsFromZero()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 12, 31, 23, 59, 0, TimeSpan.Zero));
        using var ledger = new LlmBudgetLedger(
            [
                new("hourly", new LlmBudgetOptions { LimitUsd = 1m, Period = LlmBudgetPeriod.Hour, Hard = true }),
                new("monthly", new LlmBudgetOptions { LimitUsd = 10m, Period = LlmBudgetPeriod.Month, Hard = true }),
            ],
            time);

        ledger.Add(null, Model, 1m);
        var ex = Assert.Throws<LlmBudgetExceededException>(() => ledger.ThrowIfExceeded(null, Model));
        Assert.Equal(("hourly", new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)), (ex.BudgetName, ex.ResetsAt));

        time.Now = time.Now.AddMinutes(1);
        ledger.ThrowIfExceeded(null, Model);
        ledger.Add(null, Model, 0.5m);
        var status = ledger.Snapshot().ToDictionary(s => s.Budget.Name);
        Assert.Equal(0.5m, status["hourly"].SpentUsd);
        Assert.Equal(0.5m, status["monthly"].SpentUsd);
        Assert.Equal(new DateTimeOffset(2027, 2, 1, 0, 0, 0, TimeSpan.Zero), status["monthly"].ResetsAt);
    }

    [Theory]
    [InlineData("LlmApm:Budgets:neg:LimitUsd", "-1", "LlmApm:Budgets:neg:LimitUsd must not be negative")]
    [InlineData("LlmApm:Budgets:keyed:Key", "acme", "LlmApm:Budgets:keyed:Key must be left out: a global budget")]
    [InlineData("LlmApm:Budgets:weekly:Period", "7", "LlmApm:Budgets:weekly:Period must be Hour, Day or Month")]
    [InlineData("LlmApm:Budgets:bad name:LimitUsd", "1", "a budget named 'bad name'")]
    public void Start_InvalidBudget_FailsNamingTheBudget(string key, string value, string message)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => StartFromConfiguration(new() { [key] = value, ["LlmApm:Budgets:ok:LimitUsd"] = "1" }));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_UnknownScopeName_FailsNamingTheBudget()
    {
        var ex = Assert.ThrowsAny<InvalidOperationException>(() => StartFromConfiguration(new() { ["LlmApm:Budgets:team:Scope"] = "Team" }));
        Assert.Contains("LlmApm:Budgets:team:Scope", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Start_BudgetsFromConfiguration_Bound()
    {
        using var host = StartFromConfiguration(new()
        {
            ["LlmApm:Budgets:acme-daily:Scope"] = "Tenant",
            ["LlmApm:Budgets:acme-daily:Key"] = "acme",
            ["LlmApm:Budgets:acme-daily:LimitUsd"] = "12.5",
            ["LlmApm:Budgets:acme-daily:Period"] = "Month",
            ["LlmApm:Budgets:acme-daily:Hard"] = "true",
        });
        var budget = Assert.Single(host.Services.GetRequiredService<LlmApmInstrumentation>().Budgets!.Budgets);
        Assert.Equal(("acme-daily", LlmBudgetScope.Tenant, "acme", 12.5m, LlmBudgetPeriod.Month, true), (budget.Name, budget.Scope, budget.Key, budget.LimitUsd, budget.Period, budget.Hard));
    }

    internal static Dictionary<string, double> ObserveRatios()
    {
        var ratios = new Dictionary<string, double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == LlmApmTelemetry.MeterName && instrument.Name == LlmApmTelemetry.Metrics.BudgetSpentRatio)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == LlmApmTelemetry.Attributes.TagBudget)
                {
                    ratios[(string)tag.Value!] = value;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return ratios;
    }

    private static decimal Spent(TestHost host, string budget, string? key = null)
        => Assert.Single(host.Instrumentation.Budgets!.Snapshot(), s => s.Budget.Name == budget && s.Key == key).SpentUsd;

    private static DateTimeOffset NextMonth()
    {
        var now = DateTimeOffset.UtcNow;
        return new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
    }

    private static TestHost StartHost(Action<LlmApmOptions> budgets, ILlmHistoryStore? store = null)
        => TestHost.Start(
            o =>
            {
                o.Prices[Model] = OneDollarPerCall;
                budgets(o);
            },
            build: store is null ? null : b => b.Services.AddSingleton(store));

    private static IChatClient Client(TestHost host, TimeSpan delay = default)
        => new FakeChatClient { Model = Model, Metadata = new("fake", null, Model), Delay = delay }.AsBuilder().UseLlmApm().Build(host.Services);

    private static IHost StartFromConfiguration(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddLlmApm();
        var host = builder.Build();
        try
        {
            host.Start();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => this.Now;
    }

    /// <summary>Counts the calls that reach the provider.</summary>
    private sealed class CountingChatClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        private int calls;

        public int Calls => Volatile.Read(ref this.calls);

        public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref this.calls);
            return base.GetResponseAsync(messages, options, cancellationToken);
        }

        public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref this.calls);
            return base.GetStreamingResponseAsync(messages, options, cancellationToken);
        }
    }

    /// <summary>An embedding provider whose calls each use 3 input tokens of <c>embed-model</c>.</summary>
    private sealed class FixedEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        private int calls;

        public int Calls => Volatile.Read(ref this.calls);

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
            IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref this.calls);
            return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(values.Select(_ => new Embedding<float>(new float[] { 1, 0 }) { ModelId = "embed-model" }))
            {
                Usage = new UsageDetails { InputTokenCount = 3 },
            });
        }

        public object? GetService(Type serviceType, object? serviceKey = null)
            => serviceKey is not null ? null
                : serviceType == typeof(EmbeddingGeneratorMetadata) ? new EmbeddingGeneratorMetadata("fake", null, "embed-model")
                : serviceType.IsInstanceOfType(this) ? this
                : null;

        public void Dispose()
        {
        }
    }
}
