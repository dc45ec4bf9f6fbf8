using System.Diagnostics.Tracing;
using LlmApm.Otel.History;
using LlmApm.Otel.PostgreSql.Implementation;
using LlmApm.Otel.PostgreSql.Tests.Infrastructure;
using Npgsql;
using static LlmApm.Otel.PostgreSql.Tests.PostgreSqlLlmHistoryStoreTests;

namespace LlmApm.Otel.PostgreSql.Tests;

/// <summary>The rollups the PostgreSQL store's aggregates read, the writes that must not count a record twice, and
/// rows that cannot be read.</summary>
[Collection(SharedCluster.Name)]
public sealed class PostgreSqlRollupsTests(PostgresCluster cluster)
{
    // Three hours and a bit, from 7 minutes past a half hour: both the half hours and the minutes around them are read.
    private static readonly DateTimeOffset Base = new(DateTime.UtcNow.Date.AddDays(-1).AddHours(5), TimeSpan.Zero);

    [Fact]
    public async Task Aggregate_RollupsAndRowScan_AgreeForEveryFilterAndBucket()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var a = await StartAsync(database, "roll-a");
        await using var b = await StartAsync(database, "roll-b");
        foreach (var record in Mixed(600))
        {
            (record.Replica is null ? a : b).Add(record);
        }

        Assert.True(await a.FlushAsync(TimeSpan.FromSeconds(30)));
        Assert.True(await b.FlushAsync(TimeSpan.FromSeconds(30)));
        AssertAgree(a, Base.AddMinutes(-13), Base.AddHours(4));
    }

    [Fact]
    public async Task Start_Version5WithRowsAndDuplicates_BackfillsRollupsAndKeepsOneCopy()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using (var writer = await StartAsync(database, "old-a"))
        {
            foreach (var record in Mixed(400))
            {
                writer.Add(record);
            }

            Assert.True(await writer.FlushAsync(TimeSpan.FromSeconds(30)));
        }

        // The database as version 5 left it: no rollups, no unique key, and rows that a retried batch wrote twice.
        await ExecuteAsync(database, $"""
            DROP TABLE {PostgreSqlRollups.Table};
            DROP FUNCTION llm_apm_add_buckets(bigint[], bigint[]);
            DROP FUNCTION llm_apm_add_counts(jsonb, jsonb);
            DROP INDEX ux_{PostgreSqlHistorySchema.Table}_replica_seq;
            CREATE INDEX ix_{PostgreSqlHistorySchema.Table}_replica ON {PostgreSqlHistorySchema.Table} (replica, seq);
            UPDATE llm_apm_schema SET version = 5;
            INSERT INTO {PostgreSqlHistorySchema.Table} SELECT * FROM {PostgreSqlHistorySchema.Table} WHERE id LIKE 'm1%';
            """);
        Assert.Equal(440, await CountAsync(database, "TRUE"));

        await using var store = await StartAsync(database, "new", required: true);
        Assert.Equal(6, await ScalarAsync<int>(database, "SELECT version FROM llm_apm_schema"));
        Assert.Equal(400, await CountAsync(database, "TRUE"));
        AssertAgree(store, Base.AddMinutes(-13), Base.AddHours(4));
        Assert.Equal(400, Summary(store, Base.AddMinutes(-13), Base.AddHours(4)).Sum(c => c.Count));

        // Written after the migration: counted once more, by the writer.
        store.Add(Record("after", start: Base.AddMinutes(3)));
        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(401, Summary(store, Base.AddMinutes(-13), Base.AddHours(4)).Sum(c => c.Count));
    }

    [Fact]
    public async Task Add_TwoStoresConcurrentlyOnSharedRows_RollupsAddUp()
    {
        var database = await cluster.CreateDatabaseAsync();

        // Two ids in different slots of the record number, so that both may write rows of one replica.
        Assert.NotEqual(SeqClock.Slot("conc-a"), SeqClock.Slot("conc-b"));
        await using var a = await StartAsync(database, "conc-a", configure: o => o.BatchSize = 40);
        await using var b = await StartAsync(database, "conc-b", configure: o => o.BatchSize = 40);
        const int PerStore = 3000;
        await Task.WhenAll(
            Task.Run(() => Fill(a, "a")),
            Task.Run(() => Fill(b, "b")));
        Assert.True(await a.FlushAsync(TimeSpan.FromSeconds(60)));
        Assert.True(await b.FlushAsync(TimeSpan.FromSeconds(60)));

        var from = Base.AddMinutes(-13);
        var to = Base.AddHours(1);
        Assert.Equal(2 * PerStore, await CountAsync(database, "TRUE"));
        Assert.Equal(2 * PerStore, Summary(a, from, to).Sum(c => c.Count));
        Assert.Equal(PerStore, Summary(b, from, to, replica: "shared").Sum(c => c.Count));
        Assert.Equal(PerStore / 2, Summary(b, from, to, replica: "conc-a").Sum(c => c.Count));
        AssertAgree(b, from, to);

        static void Fill(PostgreSqlLlmHistoryStore store, string prefix)
        {
            for (var i = 0; i < PerStore; i++)
            {
                store.Add(new LlmRequestRecord
                {
                    Id = $"{prefix}{i}",
                    TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
                    Route = "/api/chat",
                    Status = i % 9 == 0 ? "error" : "ok",
                    ErrorType = i % 9 == 0 ? "timeout" : null,
                    Model = i % 3 == 0 ? "m1" : "m2",
                    StartTime = Base.AddSeconds(i % 1800),
                    DurationMs = 1 + i + (prefix == "a" ? 0.25 : 0.5),
                    Usage = new LlmUsage(10, 5),
                    CostUsd = 0.0123m,
                    Replica = i % 2 == 0 ? "shared" : null,
                });
            }
        }
    }

    [Fact]
    public async Task WriteWithRetry_BatchWrittenAgainAfterItsCommit_AddsNoRowAndNoCount()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "retry");
        for (var i = 0; i < 50; i++)
        {
            store.Add(Record($"r{i}", start: Base.AddSeconds(i)).WithScores(i == 0 ? [LlmScore.Boolean("helpful", true, timestamp: Base)] : []));
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        var written = store.Query(new LlmHistoryQuery { Limit = 500 }).ToList();
        Assert.Equal(50, written.Count);

        // The commit's answer was lost and the writer tries the batch again: as a first attempt (the unique key refuses
        // it, and the writer then leaves out what is there) and as a retry, with two records the database does not have.
        await store.WriteWithRetryAsync(written, CancellationToken.None);
        var fresh = new[] { Record("new-1", start: Base.AddSeconds(70)).WithSeq(7), Record("new-2", start: Base.AddSeconds(71)).WithSeq(8) };
        await store.WriteWithRetryAsync([.. written, .. fresh], CancellationToken.None, retry: true);

        Assert.Equal(52, await CountAsync(database, "TRUE"));
        Assert.Equal(1, await ScalarAsync<long>(database, $"SELECT count(*) FROM {PostgreSqlHistorySchema.Scores}"));
        Assert.Equal(52, Summary(store, Base.AddMinutes(-1), Base.AddMinutes(5)).Sum(c => c.Count));
        Assert.True(store.Health.IsHealthy);
    }

    [Fact]
    public async Task Query_RowWithCorruptStepsOrProperties_SkipsItCountsItAndAnswersTheRest()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "corrupt");
        foreach (var id in new[] { "good-1", "bad-steps", "bad-props", "good-2" })
        {
            store.Add(Record(id));
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        await ExecuteAsync(database, $"""
            UPDATE {PostgreSqlHistorySchema.Table} SET steps = 'secret prompt text [' WHERE id = 'bad-steps';
            UPDATE {PostgreSqlHistorySchema.Table} SET properties = '[1, 2]' WHERE id = 'bad-props';
            """);

        using var listener = new SkippedRows();
        var page = store.Query(new LlmHistoryQuery { Limit = 10 });
        Assert.Equal(["good-2", "good-1"], page.Select(r => r.Id));
        Assert.Null(store.Find("bad-steps"));
        Assert.Equal("good-1", store.Find("good-1")!.Id);
        Assert.Equal(2, store.Since(DateTimeOffset.UtcNow.AddMinutes(-5)).Count);
        Assert.True(store.Health.IsHealthy);

        var skipped = listener.Events.Where(e => e.Replica == "corrupt").ToList();
        Assert.Equal(5, skipped.Count); // the page (2), the id lookup (1), Since (2)
        Assert.All(skipped, e => Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal));
        Assert.Contains(skipped, e => e.Problem == nameof(System.Text.Json.JsonException));
    }

    private static IEnumerable<LlmRequestRecord> Mixed(int count)
    {
        // Distinct durations: the slowest of a cell is one request in both answers.
        for (var i = 0; i < count; i++)
        {
            var failed = i % 6 == 0;
            yield return new LlmRequestRecord
            {
                Id = $"{(i % 10 == 0 ? "m1" : "x")}-{i}",
                TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
                Route = i % 4 == 0 ? "/api/other" : "/api/chat",
                Status = failed ? "error" : "ok",
                Model = (i % 5) switch { 0 => null, 1 or 2 => "m1", _ => "m2" },
                StartTime = Base.AddSeconds(i * 197 % (3 * 3600)).AddMilliseconds(i),
                DurationMs = 3 + (i * 7.31),
                ErrorType = failed ? (i % 12 == 0 ? "timeout" : "rate_limited") : null,
                Usage = new LlmUsage(i, 2 * i, i % 3, i % 2) { CacheWriteInputTokens = i % 4 },
                CostUsd = i % 7 == 0 ? null : 0.000123m * i,
                Unpriced = i % 7 == 0,
                Replica = i % 3 == 0 ? "roll-b" : null,
            };
        }
    }

    private static IReadOnlyList<LlmHistoryCell> Summary(PostgreSqlLlmHistoryStore store, DateTimeOffset from, DateTimeOffset to, string? replica = null)
        => store.Aggregate(new LlmHistoryAggregateQuery { From = from, To = to, Bucket = to - from, Replica = replica });

    private static void AssertAgree(PostgreSqlLlmHistoryStore store, DateTimeOffset from, DateTimeOffset to)
    {
        var queries = new List<LlmHistoryAggregateQuery>
        {
            new() { From = from, To = to, Bucket = to - from },
            new() { From = from, To = to, Bucket = TimeSpan.FromMinutes(30) },
            new() { From = from, To = to, Bucket = TimeSpan.FromMinutes(1) },
            new() { From = from, To = to, Bucket = TimeSpan.FromMinutes(45) },
            new() { From = from, To = to, Bucket = TimeSpan.FromMinutes(30), Model = "m1" },
            new() { From = from, To = to, Bucket = to - from, Route = "/api/other" },
        };
        foreach (var replica in store.Query(new LlmHistoryQuery { Limit = 500 }).Select(r => r.Replica).Distinct())
        {
            queries.Add(new() { From = from, To = to, Bucket = TimeSpan.FromMinutes(30), Replica = replica });
        }

        foreach (var query in queries)
        {
            Assert.True(PostgreSqlRollups.Answers(query));
            var rollups = Sorted(store.Aggregate(query));
            var rows = Sorted(store.AggregateRows(query));
            Assert.True(rows.Count > 0 || query.Route is not null);
            Assert.Equal(rows.Count, rollups.Count);
            for (var i = 0; i < rows.Count; i++)
            {
                var (expected, actual) = (rows[i], rollups[i]);
                Assert.Equal((expected.Start, expected.Model, expected.Count, expected.ErrorCount), (actual.Start, actual.Model, actual.Count, actual.ErrorCount));
                Assert.Equal(expected.DurationSumMs, actual.DurationSumMs, 6);
                Assert.Equal(expected.Tokens.InputTokens, actual.Tokens.InputTokens);
                Assert.Equal(expected.Tokens.OutputTokens, actual.Tokens.OutputTokens);
                Assert.Equal(expected.Tokens.CachedInputTokens, actual.Tokens.CachedInputTokens);
                Assert.Equal(expected.Tokens.ReasoningTokens, actual.Tokens.ReasoningTokens);
                Assert.Equal(expected.Tokens.CacheWriteInputTokens, actual.Tokens.CacheWriteInputTokens);
                Assert.Equal(expected.CostUsd, actual.CostUsd);
                Assert.Equal(expected.UnpricedCount, actual.UnpricedCount);
                Assert.Equal(expected.ErrorsByType.OrderBy(e => e.Key, StringComparer.Ordinal), actual.ErrorsByType.OrderBy(e => e.Key, StringComparer.Ordinal));
                Assert.Equal(expected.LatencyCounts, actual.LatencyCounts);
                Assert.Equal((expected.SlowestRequestId, expected.SlowestDurationMs), (actual.SlowestRequestId, actual.SlowestDurationMs));
            }
        }

        static List<LlmHistoryCell> Sorted(IReadOnlyList<LlmHistoryCell> cells)
            => [.. cells.OrderBy(c => c.Start).ThenBy(c => c.Model ?? string.Empty, StringComparer.Ordinal)];
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The rows the store skipped, as its event source reports them.</summary>
    private sealed class SkippedRows : EventListener
    {
        public List<(string Replica, string Problem, string Message)> Events { get; } = [];

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "LlmApm-PostgreSql")
            {
                this.EnableEvents(eventSource, EventLevel.Warning);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventId == 4 && eventData.Payload is { Count: 3 } payload)
            {
                lock (this.Events)
                {
                    var message = string.Format(System.Globalization.CultureInfo.InvariantCulture, eventData.Message ?? string.Empty, [.. payload]);
                    this.Events.Add(((string)payload[1]!, (string)payload[2]!, message));
                }
            }
        }
    }
}
