using System.Diagnostics.Metrics;
using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Sqlite.Tests;

[Collection(ProcessWideTelemetry.Name)]
public sealed class SqliteLlmHistoryStoreTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("llm-apm-sqlite-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    public async Task Add_ThenReopen_KeepsRecordsAndContinuesSequence()
    {
        var path = Path.Combine(this.folder, "h.db");
        await using (var store = Create(path))
        {
            for (var i = 0; i < 30; i++)
            {
                store.Add(Record($"r{i}"));
            }

            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));
        }

        await using (var reopened = Create(path))
        {
            var page = reopened.Query(new LlmHistoryQuery { Limit = 500 });
            Assert.Equal(30, page.Count);
            Assert.Equal("r29", page[0].Id);
            Assert.Equal(30, page[0].Seq);
            Assert.Equal(["preprocessing", "llm_api_call"], page[0].Steps.Select(s => s.Name));
            Assert.Equal(0.0123m, page[0].CostUsd);

            reopened.Add(Record("after-restart"));
            Assert.Equal(31, reopened.Find("after-restart")!.Seq);
        }
    }

    [Fact]
    public async Task Open_UsesWalModeAndVersionedSchema()
    {
        var path = Path.Combine(this.folder, "wal.db");
        await using (Create(path))
        {
        }

        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
        command.CommandText = "PRAGMA user_version";
        Assert.Equal((long)SqliteLlmHistoryStore.SchemaVersion, command.ExecuteScalar());
    }

    [Fact]
    public async Task Query_PagesBeyondTheInMemoryRing_ReadFromTheDatabase()
    {
        await using var store = Create(Path.Combine(this.folder, "paging.db"), ringCapacity: 10);
        for (var i = 0; i < 50; i++)
        {
            store.Add(Record($"p{i}", status: i % 5 == 0 ? "error" : "ok"));
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));
        var ids = new List<string>();
        long? before = null;
        while (true)
        {
            var page = store.Query(new LlmHistoryQuery { Limit = 7, Before = before });
            if (page.Count == 0)
            {
                break;
            }

            ids.AddRange(page.Select(r => r.Id));
            before = page[^1].Seq;
        }

        Assert.Equal(Enumerable.Range(0, 50).Reverse().Select(i => $"p{i}"), ids);
        Assert.Equal(10, store.Query(new LlmHistoryQuery { Status = "error", Limit = 100 }).Count);
        Assert.NotNull(store.Find("p3"));
        Assert.Equal(50, store.Since(DateTimeOffset.UtcNow.AddHours(-1)).Count);
    }

    [Fact]
    public async Task Add_QueueFull_DropsAndCountsWithoutBlocking()
    {
        long dropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == LlmApmTelemetry.Metrics.HistoryDropped)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref dropped, value));
        listener.Start();

        await using var store = Create(Path.Combine(this.folder, "full.db"), queueCapacity: 5, flushInterval: TimeSpan.FromSeconds(30));
        for (var i = 0; i < 2000; i++)
        {
            store.Add(Record($"f{i}"));
        }

        Assert.True(Interlocked.Read(ref dropped) > 0, "records beyond the queue must be counted as dropped");
        Assert.True(store.Pending <= 5 + 500, $"pending {store.Pending}");

        // The newest are still in the live view.
        Assert.Equal("f1999", store.Query(new LlmHistoryQuery { Limit = 1 })[0].Id);
    }

    [Fact]
    public async Task ApplyRetention_ByCountAndAge_DeletesOldest()
    {
        await using var store = Create(Path.Combine(this.folder, "retention.db"), ringCapacity: 5, retentionCount: 20, retentionAge: TimeSpan.FromDays(1));
        store.Add(Record("ancient", start: DateTimeOffset.UtcNow.AddDays(-3)));
        for (var i = 0; i < 40; i++)
        {
            store.Add(Record($"n{i}"));
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));
        store.ApplyRetentionNow();

        using var connection = new SqliteConnection($"Data Source={store.Path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), MIN(seq) FROM requests";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(20, reader.GetInt64(0));
        Assert.Equal(22, reader.GetInt64(1));
        Assert.Null(store.Find("ancient"));
    }

    [Fact]
    public async Task AddLlmApmSqliteHistory_InAHost_RecordsRequestsDurably()
    {
        var path = Path.Combine(this.folder, "host.db");
        for (var run = 0; run < 2; run++)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.AddLlmApm();
            builder.Services.AddLlmApmSqliteHistory(o => o.Path = path);
            using var host = builder.Build();
            await host.StartAsync();
            var apm = host.Services.GetRequiredService<LlmApmInstrumentation>();
            Assert.IsType<SqliteLlmHistoryStore>(apm.History);
            using (apm.StartRequest($"run-{run}"))
            {
                using (LlmStep.Start("preprocessing"))
                {
                }
            }

            await host.StopAsync();
            var records = apm.History.Query(new LlmHistoryQuery());
            Assert.Equal(run + 1, records.Count);
            Assert.Equal($"run-{run}", records[0].Route);
        }
    }

    [Fact]
    public async Task Aggregate_AfterReopen_CountsTheDatabasesRowsAndNewRecordsOnce()
    {
        var path = Path.Combine(this.folder, "rollups.db");
        var now = DateTimeOffset.UtcNow;
        var random = new Random(3);
        var records = Enumerable.Range(0, 3_000).Select(i => new LlmRequestRecord
        {
            Id = $"{i:x32}",
            TraceId = $"{i:x32}",
            StartTime = now - TimeSpan.FromSeconds(random.Next(1, 20 * 3600)),
            DurationMs = random.NextDouble() * 5000,
            Route = i % 2 == 0 ? "/api/chat" : "/api/chat/stream",
            Model = i % 3 == 0 ? "gpt-4o" : "gpt-4o-mini",
            Replica = $"replica-{i % 2}",
            Status = i % 10 == 0 ? "error" : "ok",
            ErrorType = i % 10 == 0 ? "timeout" : null,
            Usage = new LlmUsage(i, 2 * i),
            CostUsd = i % 7 == 0 ? null : i / 1_000_000_000m,
            Unpriced = i % 7 == 0,
        }).ToList();

        await using (var store = Create(path, ringCapacity: 10))
        {
            foreach (var record in records.Take(2_000))
            {
                store.Add(record);
            }

            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        }

        // Reopened with a ring of ten: 2,000 rows come from the database, 1,000 more are added after it opened.
        await using var reopened = Create(path, ringCapacity: 10);
        foreach (var record in records.Skip(2_000))
        {
            reopened.Add(record);
        }

        var from = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddHours(-24);
        foreach (var replica in new[] { null, "replica-1" })
        {
            var query = new LlmHistoryAggregateQuery { From = from, To = now.AddMinutes(1), Bucket = TimeSpan.FromMinutes(30), Replica = replica };
            var expected = LlmHistoryAnalytics.Aggregate(records, query).ToDictionary(c => (c.Start, c.Model));
            var actual = reopened.Aggregate(query);
            Assert.Equal(expected.Count, actual.Count);
            foreach (var cell in actual)
            {
                var want = expected[(cell.Start, cell.Model)];
                Assert.Equal(want.Count, cell.Count);
                Assert.Equal(want.ErrorCount, cell.ErrorCount);
                Assert.Equal(want.Tokens, cell.Tokens);
                Assert.Equal(want.CostUsd, cell.CostUsd);
                Assert.Equal(want.UnpricedCount, cell.UnpricedCount);
                Assert.Equal(want.LatencyCounts, cell.LatencyCounts);
            }
        }
    }

    [Fact]
    public async Task Query_ReplicaFilterBeyondMemory_ReadsTheDatabase()
    {
        var path = Path.Combine(this.folder, "replica.db");
        await using var store = Create(path, ringCapacity: 5);
        for (var i = 0; i < 40; i++)
        {
            store.Add(new LlmRequestRecord { Id = $"r{i}", TraceId = "t", Route = "/r", Status = "ok", Replica = i % 4 == 0 ? "one" : "other" });
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));

        var page = store.Query(new LlmHistoryQuery { Replica = "one", Limit = 500 });
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"r{36 - (4 * i)}"), page.Select(r => r.Id));
        Assert.All(page, r => Assert.Equal("one", r.Replica));
    }

    private static SqliteLlmHistoryStore Create(string path, int ringCapacity = 100, int queueCapacity = 10_000, TimeSpan? flushInterval = null, long retentionCount = 1_000_000, TimeSpan? retentionAge = null)
    {
        var store = new SqliteLlmHistoryStore(
            Options.Create(new SqliteHistoryOptions
            {
                Path = path,
                QueueCapacity = queueCapacity,
                FlushInterval = flushInterval ?? TimeSpan.FromMilliseconds(50),
                RetentionCount = retentionCount,
                RetentionAge = retentionAge ?? TimeSpan.FromDays(30),
            }),
            Options.Create(new LlmApmOptions { HistoryCapacity = ringCapacity }));
        store.Open();
        return store;
    }

    private static LlmRequestRecord Record(string id, string status = "ok", DateTimeOffset? start = null) => new()
    {
        Id = id,
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        Route = "/api/chat",
        Status = status,
        Model = "gpt-4o-mini",
        StartTime = start ?? DateTimeOffset.UtcNow,
        DurationMs = 12.5,
        Usage = new LlmUsage(10, 5),
        CostUsd = 0.0123m,
        Steps = [new LlmStepRecord("preprocessing", 0, 1, "ok", null, 0), new LlmStepRecord("llm_api_call", 1, 10, "ok", null, 0)],
    };
}
