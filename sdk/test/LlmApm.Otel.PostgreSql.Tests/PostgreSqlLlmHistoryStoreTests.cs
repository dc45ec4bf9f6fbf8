using LlmApm.Otel.History;
using LlmApm.Otel.PostgreSql.Implementation;
using LlmApm.Otel.PostgreSql.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Npgsql;

namespace LlmApm.Otel.PostgreSql.Tests;

[Collection(SharedCluster.Name)]
public sealed class PostgreSqlLlmHistoryStoreTests(PostgresCluster cluster)
{
    [Fact]
    public async Task Add_TwoReplicasOneDatabase_EachReadsBoth()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var a = await StartAsync(database, "replica-a");
        await using var b = await StartAsync(database, "replica-b");
        for (var i = 0; i < 40; i++)
        {
            (i % 2 == 0 ? a : b).Add(Record($"r{i:00}", status: i % 5 == 0 ? "error" : "ok"));
        }

        Assert.True(await a.FlushAsync(TimeSpan.FromSeconds(20)));
        Assert.True(await b.FlushAsync(TimeSpan.FromSeconds(20)));

        foreach (var store in new[] { a, b })
        {
            var page = store.Query(new LlmHistoryQuery { Limit = 500 });
            Assert.Equal(40, page.Count);
            Assert.Equal(page.Select(r => r.Seq).OrderDescending(), page.Select(r => r.Seq));
            Assert.Equal(40, page.Select(r => r.Seq).Distinct().Count());
            Assert.Equal(["preprocessing", "llm_api_call"], page[0].Steps.Select(s => s.Name));
            Assert.Equal(0.0123m, page[0].CostUsd);
            Assert.Equal(8, store.Query(new LlmHistoryQuery { Status = "error", Limit = 500 }).Count);
            Assert.Equal("r07", store.Find("R07")!.Id);
            Assert.Equal("replica-b", store.Find("r07")!.Replica);
            Assert.Equal("replica-a", store.Find("r08")!.Replica);
            Assert.Equal(40, store.Since(DateTimeOffset.UtcNow.AddMinutes(-5)).Count);
        }

        Assert.Equal(20, await CountAsync(database, "replica = 'replica-a'"));
        Assert.Equal(20, await CountAsync(database, "replica = 'replica-b'"));
    }

    [Fact]
    public async Task Query_FiltersAndCursor_PageThroughEveryMatch()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "pager");
        for (var i = 0; i < 30; i++)
        {
            store.Add(Record($"id{i:00}_x", model: i % 3 == 0 ? "gpt-4o" : "gpt-4o-mini", route: i % 2 == 0 ? "/api/chat" : "/api/other"));
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(20)));
        var seen = new List<string>();
        long? before = null;
        while (true)
        {
            var page = store.Query(new LlmHistoryQuery { Model = "gpt-4o", Route = "/api/chat", Limit = 2, Before = before });
            if (page.Count == 0)
            {
                break;
            }

            seen.AddRange(page.Select(r => r.Id));
            before = page[^1].Seq;
        }

        Assert.Equal(["id24_x", "id18_x", "id12_x", "id06_x", "id00_x"], seen);

        // q= is a prefix of the id or the trace id, case-insensitive, and _ is a character, not a wildcard.
        Assert.Equal(10, store.Query(new LlmHistoryQuery { Q = "ID1", Limit = 500 }).Count);
        Assert.Single(store.Query(new LlmHistoryQuery { Q = "id12_", Limit = 500 }));
        Assert.Empty(store.Query(new LlmHistoryQuery { Q = "id1_", Limit = 500 }));
        Assert.Equal(30, store.Query(new LlmHistoryQuery { Q = "4BF92F", Limit = 500 }).Count);
    }

    [Fact]
    public async Task Query_EveryFilter_UsesAnIndex()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "planner");
        Assert.True(await WaitAsync(() => store.IsMigrated));
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SET enable_seqscan = off";
        await command.ExecuteNonQueryAsync();
        foreach (var where in new[]
        {
            "status = 'error' ORDER BY seq DESC LIMIT 50", "model = 'm' ORDER BY seq DESC LIMIT 50",
            "route = '/r' ORDER BY seq DESC LIMIT 50", "replica = 'x' ORDER BY seq DESC LIMIT 50",
            "lower(id) LIKE 'ab%'", "lower(trace_id) LIKE 'ab%'", "lower(id) = 'ab'",
            "start_time >= now() - interval '1 hour'", "seq < 100 ORDER BY seq DESC LIMIT 50",
        })
        {
            command.CommandText = $"EXPLAIN SELECT * FROM {PostgreSqlHistorySchema.Table} WHERE {where}";
            var plan = string.Join('\n', await ReadAllAsync(command));
            Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);
        }

        // The scores of a page, and the negative filter's EXISTS, find a request's scores by its number.
        command.CommandText = $"EXPLAIN SELECT * FROM {PostgreSqlHistorySchema.Scores} WHERE request_seq = ANY('{{1,2,3}}'::bigint[])";
        Assert.DoesNotContain("Seq Scan", string.Join('\n', await ReadAllAsync(command)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_EmptyDatabase_CreatesCurrentSchema()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "fresh", required: true);
        Assert.True(store.IsMigrated);
        Assert.Equal(PostgreSqlHistorySchema.Version, await ScalarAsync<int>(database, "SELECT version FROM llm_apm_schema"));
    }

    [Fact]
    public async Task Start_PreviousSchemaWithRows_MigratesAndKeepsThem()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using (var dataSource = NpgsqlDataSource.Create(database))
        {
            Assert.Equal(0, await PostgreSqlHistorySchema.MigrateAsync(dataSource, target: 1));
        }

        // A row as version 1 wrote it, without the replicas table.
        await ExecuteAsync(database, $"""
            INSERT INTO {PostgreSqlHistorySchema.Table} (seq, replica, id, trace_id, start_time, start_offset_minutes, duration_ms, route, status,
                input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, tokens_estimated, unpriced, steps, has_content)
            VALUES (42, 'old', 'old-1', 'abc', now(), 0, 1.5, '/api/chat', 'ok', 1, 2, 0, 0, false, false, '[]', false)
            """);

        await using var store = await StartAsync(database, "upgraded", required: true);
        Assert.Equal(PostgreSqlHistorySchema.Version, await ScalarAsync<int>(database, "SELECT version FROM llm_apm_schema"));
        Assert.Equal((short)LlmLatencyBuckets.IndexOf(1.5), await ScalarAsync<short>(database, $"SELECT latency_bucket FROM {PostgreSqlHistorySchema.Table} WHERE id = 'old-1'"));
        Assert.Equal(42L, await ScalarAsync<long>(database, $"SELECT last_seq FROM {PostgreSqlHistorySchema.Replicas} WHERE replica = 'old'"));
        Assert.Equal("old-1", store.Find("old-1")!.Id);
    }

    [Fact]
    public async Task Start_NewerSchema_RefusesWithClearMessage()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using (var dataSource = NpgsqlDataSource.Create(database))
        {
            await PostgreSqlHistorySchema.MigrateAsync(dataSource);
        }

        await ExecuteAsync(database, "UPDATE llm_apm_schema SET version = 99");
        await using var required = Create(database, "strict", required: true);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => required.StartAsync());
        Assert.Contains($"schema has version 99, newer than this version of LlmApm.Otel.PostgreSql writes ({PostgreSqlHistorySchema.Version})", error.Message, StringComparison.Ordinal);

        await using var lenient = await StartAsync(database, "lenient");
        Assert.True(await WaitAsync(() => !lenient.Health.IsHealthy));
        Assert.Contains("version 99", lenient.Health.Reason, StringComparison.Ordinal);
        Assert.Throws<LlmHistoryUnavailableException>(() => lenient.Query(new LlmHistoryQuery()));
    }

    [Fact]
    public async Task AddScore_KnownAndUnknownIds_ReadBackWithTheRecordOnEveryReplica()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var a = await StartAsync(database, "scorer-a");
        await using var b = await StartAsync(database, "scorer-b");
        a.Add(Record("s1"));
        a.Add(Record("s2"));
        Assert.True(await a.FlushAsync(TimeSpan.FromSeconds(20)));
        Assert.True(await WaitAsync(() => b.IsMigrated));

        var thumbsDown = LlmScore.Boolean(LlmScore.UserFeedback, false, "wrong answer", "dashboard", timestamp: At(1));
        var rating = LlmScore.Numeric("relevance", 0.75, "good", source: "evaluator", polarity: LlmScorePolarity.Positive, timestamp: At(2));
        Assert.True(a.AddScore("S1", thumbsDown));
        Assert.True(b.AddScore("s1", rating));
        Assert.False(a.AddScore("nope", thumbsDown));
        Assert.False(b.AddScore("s", thumbsDown));

        foreach (var store in new[] { a, b })
        {
            Assert.Equal([thumbsDown, rating], store.Find("s1")!.Scores);
            Assert.Empty(store.Find("s2")!.Scores);
            var page = store.Query(new LlmHistoryQuery { Limit = 10 });
            Assert.Equal(["s2", "s1"], page.Select(r => r.Id));
            Assert.Equal([thumbsDown, rating], page[1].Scores);
            Assert.Equal([thumbsDown, rating], store.Since(DateTimeOffset.UtcNow.AddMinutes(-5)).Single(r => r.Id == "s1").Scores);
        }

        Assert.Equal("wrong answer", await ScalarAsync<string>(database, $"SELECT comment FROM {PostgreSqlHistorySchema.Scores} WHERE request_id = 's1' AND kind = 1"));
    }

    [Fact]
    public async Task AddScore_RecordStillInWriteQueue_KeptWhenTheRecordIsWritten()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "queued");
        Assert.True(await WaitAsync(() => store.IsMigrated));

        // Another transaction holds the requests table: the writer's COPY waits, and the record stays queued.
        await using var holder = new NpgsqlConnection(database);
        await holder.OpenAsync();
        await using var transaction = await holder.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand($"LOCK TABLE {PostgreSqlHistorySchema.Table} IN ACCESS EXCLUSIVE MODE", holder, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        var during = LlmScore.Categorical("topic", "billing", timestamp: At(1));
        store.Add(Record("q1").WithScores([during]));
        Assert.Equal(1, store.Pending);
        var later = LlmScore.Boolean(LlmScore.UserFeedback, false, timestamp: At(2));
        Assert.True(store.AddScore("Q1", later));
        Assert.Equal(1, store.Pending);

        await transaction.RollbackAsync();
        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal([during, later], store.Find("q1")!.Scores);
        Assert.False(store.AddScore("q2", later));
    }

    [Fact]
    public async Task Query_NegativeOnly_ReturnsRecordsWithANegativeScore()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "negative");
        store.Add(Record("n1").WithScores([LlmScore.Boolean(LlmScore.UserFeedback, false)]));
        store.Add(Record("n2").WithScores([LlmScore.Boolean(LlmScore.UserFeedback, true)]));
        store.Add(Record("n3"));
        store.Add(Record("n4"));
        store.Add(Record("n5", status: "error"));
        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(20)));
        Assert.True(store.AddScore("n3", LlmScore.Numeric("toxicity", 0.9, polarity: LlmScorePolarity.Negative)));
        Assert.True(store.AddScore("n4", LlmScore.Numeric("length", 120)));
        Assert.True(store.AddScore("n5", LlmScore.Categorical("verdict", "refused", polarity: LlmScorePolarity.Negative)));

        Assert.Equal(["n5", "n3", "n1"], store.Query(new LlmHistoryQuery { NegativeOnly = true }).Select(r => r.Id));
        Assert.Equal(["n5"], store.Query(new LlmHistoryQuery { NegativeOnly = true, Status = "error" }).Select(r => r.Id));
        var before = store.Query(new LlmHistoryQuery { NegativeOnly = true, Limit = 1 })[0].Seq;
        Assert.Equal(["n3", "n1"], store.Query(new LlmHistoryQuery { NegativeOnly = true, Before = before }).Select(r => r.Id));
        Assert.All(store.Query(new LlmHistoryQuery { NegativeOnly = true }), r => Assert.Contains(r.Scores, s => s.Polarity == LlmScorePolarity.Negative));
    }

    [Fact]
    public async Task Start_Version3WithRows_AddsScoresAndKeepsRows()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using (var dataSource = NpgsqlDataSource.Create(database))
        {
            Assert.Equal(0, await PostgreSqlHistorySchema.MigrateAsync(dataSource, target: 3));
        }

        await ExecuteAsync(database, $"""
            INSERT INTO {PostgreSqlHistorySchema.Table} (seq, replica, id, trace_id, start_time, start_offset_minutes, duration_ms, route, status,
                input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, tokens_estimated, unpriced, steps, has_content, latency_bucket)
            VALUES (42, 'old', 'old-3', 'abc', now(), 0, 1.5, '/api/chat', 'ok', 1, 2, 0, 0, false, false, '[]', false, 0)
            """);
        Assert.Equal(0L, await ScalarAsync<long>(database, "SELECT count(*) FROM pg_tables WHERE tablename = 'llm_apm_scores'"));

        await using var store = await StartAsync(database, "upgraded", required: true);
        Assert.Equal(PostgreSqlHistorySchema.Version, await ScalarAsync<int>(database, "SELECT version FROM llm_apm_schema"));
        Assert.Empty(store.Find("old-3")!.Scores);
        var score = LlmScore.Boolean(LlmScore.UserFeedback, true, timestamp: At(1));
        Assert.True(store.AddScore("old-3", score));
        Assert.Equal([score], store.Find("old-3")!.Scores);
        Assert.Empty(store.Query(new LlmHistoryQuery { NegativeOnly = true }));
    }

    [Fact]
    public async Task ApplyRetention_ByCountAndAge_DeletesOldestOnly()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "retention", configure: o => o.RetentionCount = 12_000);
        store.Add(Record("ancient", start: DateTimeOffset.UtcNow.AddDays(-40)));
        for (var i = 0; i < 12_500; i++)
        {
            store.Add(Record($"n{i}"));
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(501, await store.ApplyRetentionNowAsync());
        Assert.Equal(12_000, await CountAsync(database, "TRUE"));
        Assert.Null(store.Find("ancient"));
        Assert.Null(store.Find("n499"));
        Assert.NotNull(store.Find("n500"));
    }

    [Fact]
    public async Task Aggregate_TwoReplicasTwoBuckets_SumsInSqlLikeTheRecords()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var a = await StartAsync(database, "agg-a");
        await using var b = await StartAsync(database, "agg-b");
        var from = new DateTimeOffset(DateTime.UtcNow.Date.AddHours(-3), TimeSpan.Zero);
        var records = new List<LlmRequestRecord>();
        for (var i = 0; i < 40; i++)
        {
            var failed = i % 4 == 0;
            records.Add(new LlmRequestRecord
            {
                Id = $"a{i}",
                TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
                Route = "/api/chat",
                Status = failed ? "error" : "ok",
                Model = i % 2 == 0 ? "m1" : "m2",
                StartTime = from.AddMinutes(i % 4 < 2 ? 1 : 61).AddSeconds(i),
                DurationMs = 10 * (i + 1),
                ErrorType = failed ? (i % 8 == 0 ? "timeout" : "rate_limited") : null,
                Usage = new LlmUsage(i, 2 * i, 1, 0) { CacheWriteInputTokens = 3 * i },
                CostUsd = i % 5 == 0 ? null : 0.001m * i,
                Unpriced = i % 5 == 0,
                Replica = i % 3 == 0 ? "agg-b" : null,
            });
        }

        foreach (var record in records)
        {
            (record.Replica is null ? a : b).Add(record);
        }

        Assert.True(await a.FlushAsync(TimeSpan.FromSeconds(20)));
        Assert.True(await b.FlushAsync(TimeSpan.FromSeconds(20)));

        var cells = a.Aggregate(new LlmHistoryAggregateQuery { From = from, To = from.AddHours(2), Bucket = TimeSpan.FromHours(1) });
        Assert.Equal(4, cells.Count);
        foreach (var cell in cells)
        {
            var bucket = (int)((cell.Start - from).TotalHours);
            var expected = records.Where(r => r.Model == cell.Model && (int)((r.StartTime - from).TotalHours) == bucket).ToList();
            Assert.Equal(from.AddHours(bucket), cell.Start);
            Assert.Equal(expected.Count, cell.Count);
            Assert.Equal(expected.Count(r => r.Status != "ok"), cell.ErrorCount);
            Assert.Equal(expected.Sum(r => r.DurationMs), cell.DurationSumMs, 6);
            Assert.Equal(expected.Sum(r => r.Usage.OutputTokens), cell.Tokens.OutputTokens);
            Assert.Equal(expected.Sum(r => r.Usage.CacheWriteInputTokens), cell.Tokens.CacheWriteInputTokens);
            Assert.Equal(expected.Sum(r => r.CostUsd ?? 0), cell.CostUsd);
            Assert.Equal(expected.Count(r => r.Unpriced), cell.UnpricedCount);
            Assert.Equal(
                expected.Where(r => r.ErrorType is not null).GroupBy(r => r.ErrorType!).ToDictionary(g => g.Key, g => (long)g.Count()),
                cell.ErrorsByType.ToDictionary());
            var latency = new long[LlmLatencyBuckets.Count];
            foreach (var r in expected)
            {
                latency[LlmLatencyBuckets.IndexOf(r.DurationMs)]++;
            }

            Assert.Equal(latency, cell.LatencyCounts);
        }

        // Filters: a replica, a model.
        var onlyB = a.Aggregate(new LlmHistoryAggregateQuery { From = from, To = from.AddHours(2), Bucket = TimeSpan.FromHours(2), Replica = "agg-b" });
        Assert.Equal(records.Count(r => r.Replica == "agg-b"), onlyB.Sum(c => c.Count));
        var onlyM1 = b.Aggregate(new LlmHistoryAggregateQuery { From = from, To = from.AddHours(2), Bucket = TimeSpan.FromHours(2), Model = "m1" });
        Assert.Equal(20, Assert.Single(onlyM1).Count);
        Assert.Equal(records.Count(r => r.Replica == "agg-b"), a.Query(new LlmHistoryQuery { Replica = "agg-b", Limit = 500 }).Count);
    }

    [Fact]
    public void Validate_BadOptions_NamesTheKeys()
    {
        var result = new PostgreSqlHistoryOptionsValidator().Validate(null, new PostgreSqlHistoryOptions { BatchSize = 0, FlushInterval = TimeSpan.Zero });
        Assert.True(result.Failed);
        Assert.Contains("ConnectionStrings:LlmApmHistory", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("LlmApm:PostgreSql:BatchSize", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("LlmApm:PostgreSql:FlushInterval", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new PostgreSqlHistoryOptionsValidator().Validate(null, new PostgreSqlHistoryOptions { ConnectionString = "Host=;;=x" }).Failed);
    }

    [Fact]
    public void SeqClock_ManyNumbers_MonotonicUniqueAndExactInJavaScript()
    {
        var clock = new SeqClock("replica-x");
        var last = 0L;
        for (var i = 0; i < 100_000; i++)
        {
            var seq = clock.Next();
            Assert.True(seq > last);
            Assert.True(seq < 1L << 53);
            last = seq;
        }

        Assert.Equal(SeqClock.Slot("replica-x"), (last >> 8) & 31);
        Assert.InRange(SeqClock.TimeOf(last), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    internal static PostgreSqlLlmHistoryStore Create(string connectionString, string instance, bool required = false, Action<PostgreSqlHistoryOptions>? configure = null)
    {
        var options = new PostgreSqlHistoryOptions
        {
            ConnectionString = connectionString,
            InstanceId = instance,
            Required = required,
            FlushInterval = TimeSpan.FromMilliseconds(100),
            RetryInterval = TimeSpan.FromMilliseconds(200),
        };
        configure?.Invoke(options);
        return new PostgreSqlLlmHistoryStore(Options.Create(options));
    }

    internal static async Task<PostgreSqlLlmHistoryStore> StartAsync(string connectionString, string instance, bool required = false, Action<PostgreSqlHistoryOptions>? configure = null)
    {
        var store = Create(connectionString, instance, required, configure);
        await store.StartAsync();
        return store;
    }

    internal static LlmRequestRecord Record(string id, string status = "ok", string model = "gpt-4o-mini", string route = "/api/chat", DateTimeOffset? start = null) => new()
    {
        Id = id,
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        Route = route,
        Status = status,
        Model = model,
        StartTime = start ?? DateTimeOffset.UtcNow,
        DurationMs = 12.5,
        Usage = new LlmUsage(10, 5),
        CostUsd = 0.0123m,
        Steps = [new LlmStepRecord("preprocessing", 0, 1, "ok", null, 0), new LlmStepRecord("llm_api_call", 1, 10, "ok", null, 0)],
    };

    private static DateTimeOffset At(int second) => new(2026, 1, 2, 3, 4, second, TimeSpan.Zero);

    internal static async Task<long> CountAsync(string connectionString, string where)
        => await ScalarAsync<long>(connectionString, $"SELECT count(*) FROM {PostgreSqlHistorySchema.Table} WHERE {where}");

    internal static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    internal static async Task<bool> WaitAsync(Func<bool> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> ReadAllAsync(NpgsqlCommand command)
    {
        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return lines;
    }
}
