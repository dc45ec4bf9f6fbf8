using LlmApm.Otel.History;
using LlmApm.Otel.PostgreSql.Implementation;
using LlmApm.Otel.PostgreSql.Tests.Infrastructure;
using Npgsql;
using static LlmApm.Otel.PostgreSql.Tests.PostgreSqlLlmHistoryStoreTests;

namespace LlmApm.Otel.PostgreSql.Tests;

/// <summary>The replica list in PostgreSQL: every replica that wrote to the shared database, counted in SQL through the
/// replicas table and the replica index, agreeing with the default that reads every record of the window.</summary>
[Collection(SharedCluster.Name)]
public sealed class PostgreSqlLlmHistoryStoreReplicasTests(PostgresCluster cluster)
{
    [Fact]
    public async Task Replicas_TwoReplicasSharingADatabase_EachListsBothAsTheRecordsSay()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var a = await StartAsync(database, "r1");
        await using var b = await StartAsync(database, "r2");
        var now = DateTimeOffset.UtcNow;

        // A whole minute: the counts come from per-minute rollups, whose windows start at one.
        var from = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddHours(-2);
        var before = now.AddMinutes(1);
        var records = new List<LlmRequestRecord>();
        for (var i = 0; i < 60; i++)
        {
            var record = new LlmRequestRecord
            {
                Id = $"{i:x32}",
                TraceId = $"{i:x32}",

                // Every sixth started before the window; the others spread over its two hours.
                StartTime = i % 6 == 5 ? from.AddMinutes(-10 - i) : from.AddSeconds(i * 97),
                Route = "/api/chat",
                Status = i % 5 == 0 ? "error" : "ok",
                Replica = i % 3 == 0 ? "r1" : "r2",
            };
            records.Add(record);
            (record.Replica == "r1" ? a : b).Add(record);
        }

        Assert.True(await a.FlushAsync(TimeSpan.FromSeconds(20)));
        Assert.True(await b.FlushAsync(TimeSpan.FromSeconds(20)));

        var expected = LlmReplicaRow.Compute(records, from, before);
        Assert.Equal(2, expected.Count);
        Assert.Equal(expected, a.Replicas(from, before));
        Assert.Equal(expected, b.Replicas(from, before));

        // A window that only r2's newest records are in, and one after every record.
        var newest = records.Max(r => r.StartTime);
        var lateFrom = new DateTimeOffset(newest.UtcTicks - (newest.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var late = LlmReplicaRow.Compute(records, lateFrom, before);
        Assert.Equal(["r2"], late.Select(r => r.Replica));
        Assert.Equal(late, a.Replicas(lateFrom, before));
        Assert.Empty(a.Replicas(now.AddSeconds(30), before));
    }

    [Fact]
    public async Task Replicas_Plan_ReadsTheReplicasTableAndTheReplicaIndexNeverTheWholeTable()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "planner");
        Assert.True(await WaitAsync(() => store.IsMigrated));
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SET enable_seqscan = off";
        await command.ExecuteNonQueryAsync();

        command.CommandText = "EXPLAIN " + PostgreSqlLlmHistoryStore.ReplicasSql;
        var from = DateTimeOffset.UtcNow.AddHours(-24);
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = from.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = DateTime.UtcNow });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = SeqClock.AtOrAfter(from) });
        var lines = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                lines.Add(reader.GetString(0));
            }
        }

        var plan = string.Join('\n', lines);
        Assert.DoesNotContain($"Seq Scan on {PostgreSqlHistorySchema.Table}", plan, StringComparison.Ordinal);
        Assert.DoesNotContain($"Seq Scan on {PostgreSqlRollups.Table}", plan, StringComparison.Ordinal);
        Assert.Contains($"ux_{PostgreSqlHistorySchema.Table}_replica_seq", plan, StringComparison.Ordinal);
    }
}
