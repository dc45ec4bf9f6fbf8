using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Sqlite.Tests;

/// <summary>The replica list of a SQLite history: from its rollups, which the rows already in the database feed at open,
/// agreeing with the default that reads every record of the window.</summary>
public sealed class SqliteLlmHistoryStoreReplicasTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("llm-apm-sqlite-replicas-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    public async Task Replicas_RecordsOfThreeReplicasThenReopened_AgreesWithTheRecordsOfTheWindow()
    {
        var path = Path.Combine(this.folder, "replicas.db");
        var now = DateTimeOffset.UtcNow;
        var from = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddHours(-2);
        var before = from.AddHours(2).AddMinutes(1);
        var records = new List<LlmRequestRecord>();
        for (var i = 0; i < 90; i++)
        {
            records.Add(new LlmRequestRecord
            {
                Id = $"{i:x32}",
                TraceId = $"{i:x32}",

                // Every third record of r3 is before the window; the others spread over its two hours.
                StartTime = i % 9 == 2 ? from.AddMinutes(-30 - i) : from.AddSeconds(i * 73),
                Route = "/api/chat",
                Status = i % 4 == 0 ? "error" : "ok",
                Replica = (i % 3) switch { 0 => "r1", 1 => "r2", _ => "r3" },
            });
        }

        // A record without a replica (written before replicas were kept) is not listed.
        records.Add(new LlmRequestRecord { Id = "none", TraceId = "none", StartTime = from.AddMinutes(5), Route = "/api/chat", Status = "ok" });
        var expected = LlmReplicaRow.Compute(records, from, before);
        Assert.Equal(["r3", "r2", "r1"], expected.Select(r => r.Replica));
        Assert.Equal(30 - 10, expected.Single(r => r.Replica == "r3").Requests);

        await using (var store = Open(path, ringCapacity: 10))
        {
            foreach (var record in records)
            {
                store.Add(record);
            }

            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(expected, store.Replicas(from, before));
        }

        // Reopened: the rollups are rebuilt from the rows (the ring keeps only the newest ten).
        await using var reopened = Open(path, ringCapacity: 10);
        Assert.Equal(expected, reopened.Replicas(from, before));

        // A later part of the window: only what started in it.
        var late = LlmReplicaRow.Compute(records, from.AddMinutes(100), before);
        Assert.NotEmpty(late);
        Assert.True(late.Sum(r => r.Requests) < expected.Sum(r => r.Requests));
        Assert.Equal(late, reopened.Replicas(from.AddMinutes(100), before));
    }

    private static SqliteLlmHistoryStore Open(string path, int ringCapacity)
    {
        var store = new SqliteLlmHistoryStore(
            Options.Create(new SqliteHistoryOptions { Path = path, FlushInterval = TimeSpan.FromMilliseconds(20) }),
            Options.Create(new LlmApmOptions { HistoryCapacity = ringCapacity }));
        store.Open();
        Assert.True(store.IsOpen, store.Health.Reason);
        return store;
    }
}
