using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmApm.Otel.History;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>The summary and time series come from the store's aggregates, not from its records: they count what the ring
/// no longer holds, filter by replica, and concurrent dashboards share one computation.</summary>
public sealed class LlmApmHistoryApiTests
{
    [Fact]
    public async Task Summary_MoreRequestsThanTheRingKeeps_CountsEveryOneAndFiltersByReplica()
    {
        await using var app = await TestApp.StartAsync(configure: b => b.Services.Configure<LlmApmOptions>(o => o.HistoryCapacity = 10));
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < 50; i++)
        {
            app.Instrumentation.History.Add(new LlmRequestRecord
            {
                Id = $"{i:x32}",
                TraceId = $"{i:x32}",
                StartTime = now.AddSeconds(-i),
                DurationMs = 100 + i,
                Route = "/api/chat",
                Model = "gpt-4o-mini",
                Replica = i % 2 == 0 ? "replica-a" : "replica-b",
                Status = i % 5 == 0 ? "error" : "ok",
                ErrorType = i % 5 == 0 ? "timeout" : null,
                Usage = new LlmUsage(10, 1),
                CostUsd = 0.001m,
            });
        }

        var all = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/summary?window=1h");
        Assert.Equal(50, all.GetProperty("count").GetInt64());
        Assert.Equal(10, all.GetProperty("errorsByType").GetProperty("timeout").GetInt64());
        Assert.Equal(0.050m, all.GetProperty("costUsd").GetDecimal());
        Assert.Equal(500, all.GetProperty("tokens").GetProperty("input").GetInt64());

        var one = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/summary?window=1h&replica=replica-a");
        Assert.Equal(25, one.GetProperty("count").GetInt64());

        var series = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/timeseries?window=24h&replica=replica-b");
        Assert.Equal(25, series.GetProperty("buckets").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64()));

        // The request list pages the records the ring keeps (the newest ten), filtered by replica.
        var page = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/requests?replica=replica-b");
        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(5, items.Count);
        Assert.All(items, item => Assert.Equal("replica-b", item.GetProperty("replica").GetString()));
    }

    [Fact]
    public async Task Summary_ConcurrentPollers_ShareOneComputationUntilItIsTwoSecondsOld()
    {
        var store = new CountingStore();
        var time = new ManualTime(DateTimeOffset.UtcNow);
        await using var app = await TestApp.StartAsync(configure: b =>
        {
            b.Services.AddSingleton<ILlmHistoryStore>(store);
            b.Services.AddSingleton<TimeProvider>(time);
        });

        var polls = Enumerable.Range(0, 6).Select(_ => app.Client.GetAsync("/llm-apm/api/summary?window=24h")).ToList();
        while (Volatile.Read(ref store.Calls) == 0)
        {
            await Task.Delay(10);
        }

        store.Release.Set();
        foreach (var response in await Task.WhenAll(polls))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }

        Assert.Equal(1, store.Calls);

        // Another window is another computation; the same one is computed again once the shared one is 2 s old.
        using (await app.Client.GetAsync("/llm-apm/api/summary?window=1h"))
        {
        }

        using (await app.Client.GetAsync("/llm-apm/api/summary?window=24h"))
        {
        }

        Assert.Equal(2, store.Calls);
        time.Now += TimeSpan.FromSeconds(2);
        using (await app.Client.GetAsync("/llm-apm/api/summary?window=24h"))
        {
        }

        Assert.Equal(3, store.Calls);
    }

    [Fact]
    public async Task Summary_StoreFails_IsNotSharedWithTheNextPoll()
    {
        var store = new CountingStore { Fail = true };
        store.Release.Set();
        await using var app = await TestApp.StartAsync(configure: b => b.Services.AddSingleton<ILlmHistoryStore>(store));

        using (var failed = await app.Client.GetAsync("/llm-apm/api/summary?window=5m"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }

        store.Fail = false;
        using var worked = await app.Client.GetAsync("/llm-apm/api/summary?window=5m");
        Assert.Equal(HttpStatusCode.OK, worked.StatusCode);
        Assert.Equal(2, store.Calls);
    }

    [Fact]
    public async Task Requests_FilteredByUserTenantOrProperty_ReturnsTheirRecordsWithAttribution()
    {
        await using var app = await TestApp.StartAsync();
        var history = app.Instrumentation.History;
        history.Add(Attributed(1, "alice", "acme", ("plan", "pro")));
        history.Add(Attributed(2, "bob", "acme", ("plan", "free")));
        history.Add(Attributed(3, "alice", "globex"));
        history.Add(Attributed(4, null, null));

        async Task<string[]> Ids(string query)
        {
            var page = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/requests?" + query);
            return [.. page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!)];
        }

        Assert.Equal([$"{3:x32}", $"{1:x32}"], await Ids("user=alice"));
        Assert.Equal([$"{2:x32}", $"{1:x32}"], await Ids("tenant=acme"));
        Assert.Equal([$"{1:x32}"], await Ids("tenant=acme&user=alice"));
        Assert.Equal([$"{2:x32}", $"{1:x32}"], await Ids("property=plan"));
        Assert.Equal([$"{2:x32}"], await Ids("property=plan:free"));
        Assert.Empty(await Ids("property=plan:enterprise"));

        // The wire record: userId, tenantId and properties, {} and null when there are none.
        var one = await app.Client.GetFromJsonAsync<JsonElement>($"/llm-apm/api/requests/{1:x32}");
        Assert.Equal("alice", one.GetProperty("userId").GetString());
        Assert.Equal("acme", one.GetProperty("tenantId").GetString());
        Assert.Equal("pro", one.GetProperty("properties").GetProperty("plan").GetString());
        var none = await app.Client.GetFromJsonAsync<JsonElement>($"/llm-apm/api/requests/{4:x32}");
        Assert.Equal(JsonValueKind.Null, none.GetProperty("userId").ValueKind);
        Assert.Equal(JsonValueKind.Null, none.GetProperty("tenantId").ValueKind);
        Assert.Empty(none.GetProperty("properties").EnumerateObject());
    }

    [Theory]
    [InlineData("user=%0A")]
    [InlineData("tenant=tab%09tenant")]
    [InlineData("property=bad%20key")]
    [InlineData("property=:value")]
    [InlineData("property=plan:line%0Abreak")]
    public async Task Requests_InvalidAttributionFilter_Answers400ProblemWithRequestId(string query)
    {
        await using var app = await TestApp.StartAsync();
        using var response = await app.Client.GetAsync("/llm-apm/api/requests?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));
        Assert.Contains($"'{query[..query.IndexOf('=', StringComparison.Ordinal)]}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replicas_TwoReplicasMoreThanTheRingKeeps_ListsEachWithTheSummarysCountAndItsLastRequest()
    {
        await using var app = await TestApp.StartAsync(configure: b => b.Services.Configure<LlmApmOptions>(o => o.HistoryCapacity = 10));
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < 50; i++)
        {
            app.Instrumentation.History.Add(new LlmRequestRecord
            {
                Id = $"{i:x32}",
                TraceId = $"{i:x32}",
                StartTime = now.AddSeconds(-i),
                Route = "/api/chat",
                Replica = i % 2 == 0 ? "replica-a" : "replica-b",
                Status = "ok",
            });
        }

        // A record without a replica (written before replicas were kept) is counted by the summary but not listed.
        app.Instrumentation.History.Add(new LlmRequestRecord { Id = $"{99:x32}", TraceId = $"{99:x32}", StartTime = now, Route = "/api/chat", Status = "ok" });

        var body = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/replicas?window=1h");
        Assert.Equal("1h", body.GetProperty("window").GetString());
        var rows = body.GetProperty("replicas").EnumerateArray().ToList();
        Assert.Equal(["replica-a", "replica-b"], rows.Select(r => r.GetProperty("replica").GetString()));
        Assert.Equal(now, rows[0].GetProperty("lastRequestAt").GetDateTimeOffset());
        Assert.Equal(now.AddSeconds(-1), rows[1].GetProperty("lastRequestAt").GetDateTimeOffset());
        foreach (var row in rows)
        {
            var summary = await app.Client.GetFromJsonAsync<JsonElement>($"/llm-apm/api/summary?window=1h&replica={row.GetProperty("replica").GetString()}");
            Assert.Equal(25, row.GetProperty("requests").GetInt64());
            Assert.Equal(summary.GetProperty("count").GetInt64(), row.GetProperty("requests").GetInt64());
        }

        // Out of the window: the 1-minute window starts on a whole 5 s, so it has at least the last 55 seconds.
        var minute = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/replicas?window=1m");
        Assert.Equal(2, minute.GetProperty("replicas").GetArrayLength());
    }

    [Fact]
    public async Task Replicas_MoreReplicasThanTheBound_ListsTheMostRecentlySeen()
    {
        await using var app = await TestApp.StartAsync();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < LlmReplicaRow.MaxRows + 20; i++)
        {
            app.Instrumentation.History.Add(new LlmRequestRecord
            {
                Id = $"{i:x32}",
                TraceId = $"{i:x32}",
                StartTime = now.AddSeconds(-i),
                Route = "/api/chat",
                Replica = $"replica-{i:D3}",
                Status = "ok",
            });
        }

        var body = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/replicas?window=1h");
        var names = body.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("replica").GetString()).ToList();
        Assert.Equal(Enumerable.Range(0, LlmReplicaRow.MaxRows).Select(i => $"replica-{i:D3}"), names);
    }

    [Fact]
    public async Task Replicas_StoreWithoutItsOwnAnswer_ReadsTheWindowsRecordsAndSharesTheSummaryCache()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        var store = new RecordsOnlyStore(
        [
            new LlmRequestRecord { Id = "a1", TraceId = "a1", StartTime = time.Now.AddMinutes(-90), Route = "/", Status = "ok", Replica = "old" },
            new LlmRequestRecord { Id = "b1", TraceId = "b1", StartTime = time.Now.AddMinutes(-30), Route = "/", Status = "ok", Replica = "b" },
            new LlmRequestRecord { Id = "b2", TraceId = "b2", StartTime = time.Now.AddMinutes(-20), Route = "/", Status = "ok", Replica = "b" },
            new LlmRequestRecord { Id = "c1", TraceId = "c1", StartTime = time.Now.AddMinutes(-10), Route = "/", Status = "error", Replica = "c" },
        ]);
        await using var app = await TestApp.StartAsync(configure: b =>
        {
            b.Services.AddSingleton<ILlmHistoryStore>(store);
            b.Services.AddSingleton<TimeProvider>(time);
        });

        var body = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/replicas?window=1h");
        var rows = body.GetProperty("replicas").EnumerateArray()
            .Select(r => (r.GetProperty("replica").GetString(), r.GetProperty("requests").GetInt64(), r.GetProperty("lastRequestAt").GetDateTimeOffset()))
            .ToList();
        Assert.Equal([("c", 1L, time.Now.AddMinutes(-10)), ("b", 2L, time.Now.AddMinutes(-20))], rows);
        Assert.Equal(1, store.SinceCalls);

        // A second poll within two seconds is served from the cache; after them the store is asked again.
        using (await app.Client.GetAsync("/llm-apm/api/replicas?window=1h"))
        {
        }

        Assert.Equal(1, store.SinceCalls);
        time.Now += TimeSpan.FromSeconds(2);
        using (await app.Client.GetAsync("/llm-apm/api/replicas?window=1h"))
        {
        }

        Assert.Equal(2, store.SinceCalls);

        store.Fail = true;
        time.Now += TimeSpan.FromSeconds(2);
        using var failed = await app.Client.GetAsync("/llm-apm/api/replicas?window=1h");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.False(string.IsNullOrEmpty((await failed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("requestId").GetString()));
    }

    [Theory]
    [InlineData("window=2h")]
    [InlineData("window=24H")]
    public async Task Replicas_UnknownWindow_Answers400ProblemWithRequestId(string query)
    {
        await using var app = await TestApp.StartAsync();
        using var response = await app.Client.GetAsync("/llm-apm/api/replicas?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));
        Assert.Contains("'window'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static LlmRequestRecord Attributed(int n, string? user, string? tenant, params (string Key, string Value)[] properties) => new()
    {
        Id = $"{n:x32}",
        TraceId = $"{n:x32}",
        StartTime = DateTimeOffset.UtcNow,
        Route = "/api/chat",
        Status = "ok",
        UserId = user,
        TenantId = tenant,
        Properties = properties.ToDictionary(p => p.Key, p => p.Value),
    };

    private sealed class CountingStore : ILlmHistoryStore
    {
        public int Calls;

        public ManualResetEventSlim Release { get; } = new();

        public bool Fail { get; set; }

        public long Add(LlmRequestRecord record) => 0;

        public LlmRequestRecord? Find(string id) => null;

        public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query) => [];

        public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from) => throw new InvalidOperationException("the API must not read records");

        public IReadOnlyList<LlmHistoryCell> Aggregate(LlmHistoryAggregateQuery query)
        {
            Interlocked.Increment(ref this.Calls);
            this.Release.Wait(TimeSpan.FromSeconds(30));
            return this.Fail ? throw new LlmHistoryUnavailableException("the store cannot read") : [];
        }
    }

    /// <summary>A store written before replicas were listed: only the members every store has.</summary>
    private sealed class RecordsOnlyStore(IReadOnlyList<LlmRequestRecord> records) : ILlmHistoryStore
    {
        public int SinceCalls;

        public bool Fail { get; set; }

        public long Add(LlmRequestRecord record) => 0;

        public LlmRequestRecord? Find(string id) => null;

        public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query) => [];

        public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from)
        {
            Interlocked.Increment(ref this.SinceCalls);
            return this.Fail ? throw new LlmHistoryUnavailableException("the store cannot read") : [.. records.Where(r => r.StartTime >= from)];
        }
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override DateTimeOffset GetUtcNow() => this.Now;

        public override long GetTimestamp() => this.Now.UtcTicks;
    }
}
