using System.Reflection;
using LlmApm.Otel.History;
using LlmApm.Otel.PostgreSql.Implementation;
using LlmApm.Otel.PostgreSql.Tests.Infrastructure;
using LlmApm.Otel.Tests.Shared;
using Npgsql;
using static LlmApm.Otel.PostgreSql.Tests.PostgreSqlLlmHistoryStoreTests;

namespace LlmApm.Otel.PostgreSql.Tests;

/// <summary>Who a request was for, in PostgreSQL: every field of a record through the database (schema version 5), a
/// version 4 row still read, the user, tenant and property filters in SQL by their indexes, and the spend query's
/// GROUP BY agreeing with the default that reads every record.</summary>
[Collection(SharedCluster.Name)]
public sealed class PostgreSqlLlmHistoryStoreSpendTests(PostgresCluster cluster)
{
    [Fact]
    public async Task Read_EveryPropertySet_SurvivesTheDatabase()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "chat-7f9c-1");
        var original = new LlmRequestRecord
        {
            Id = "0123456789abcdef0123456789abcdef",
            TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
            SpanId = "00f067aa0ba902b7",

            // Whole microseconds: PostgreSQL's timestamps keep no finer.
            StartTime = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.FromHours(-5)).AddTicks(1234560),
            DurationMs = 1234.5678901,
            Route = "/api/chat",
            Model = "gpt-4o-mini-2024-07-18",
            Provider = "openai",
            ConversationId = "conv-1",
            Replica = "chat-7f9c-1",
            UserId = "user-ü 42",
            TenantId = "acme",
            Properties = new Dictionary<string, string> { ["feature"] = "chat", ["ab.test-1"] = "b \"quoted\" é", ["empty"] = string.Empty },
            Status = "error",
            ErrorType = "rate_limited",
            ErrorMessage = "Too many requests, \"quoted\" and unicode: é 🎉",
            Usage = new LlmUsage(1000, 200, CachedInputTokens: 300, ReasoningTokens: 50, Estimated: true),
            CostUsd = 0.000123456789m,
            Unpriced = true,
            Steps =
            [
                new LlmStepRecord("preprocessing", 0, 1.25, "ok", null, 0),
                new LlmStepRecord("llm_api_call", 1.25, 900.123456789, "error", "rate_limited", 1, LlmStepKinds.LlmCall, "openai/gpt-4o-mini@2026-11-01#>200k"),
                new LlmStepRecord("GET", 2, 3, "ok", null, 2, "http"),
            ],
            DroppedSteps = 3,
            Content = new LlmContentRecord("the prompt", null),
        };
        original = original.WithSeq(store.Add(original));
        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(20)));
        var read = store.Find(original.Id)!;

        foreach (var property in typeof(LlmRequestRecord).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var expected = property.GetValue(original);
            var actual = property.GetValue(read);
            if (expected is IEnumerable<LlmStepRecord> steps)
            {
                Assert.Equal(steps, (IEnumerable<LlmStepRecord>)actual!);
            }
            else if (expected is IReadOnlyDictionary<string, string> properties)
            {
                Assert.Equal(properties.OrderBy(p => p.Key, StringComparer.Ordinal), ((IReadOnlyDictionary<string, string>)actual!).OrderBy(p => p.Key, StringComparer.Ordinal));
            }
            else if (expected is IEnumerable<LlmScore> scores)
            {
                Assert.Equal(scores, (IEnumerable<LlmScore>)actual!);
            }
            else
            {
                Assert.True(Equals(expected, actual), $"{property.Name}: expected {expected}, read {actual}");
            }
        }

        Assert.Equal(original.StartTime.Offset, read.StartTime.Offset);
        Assert.Equal("""{"empty": "", "feature": "chat", "ab.test-1": "b \"quoted\" é"}""", await ScalarAsync<string>(database, $"SELECT properties::text FROM {PostgreSqlHistorySchema.Table}"));
        Assert.Equal(3, await ScalarAsync<int>(database, $"SELECT dropped_steps FROM {PostgreSqlHistorySchema.Table}"));
    }

    [Fact]
    public async Task Start_Version4WithRows_AddsAttributionAndReadsOldSteps()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using (var dataSource = NpgsqlDataSource.Create(database))
        {
            Assert.Equal(0, await PostgreSqlHistorySchema.MigrateAsync(dataSource, target: 4));
        }

        // A row as version 4 wrote it: steps of six items (no kind, no price), no dropped count.
        await ExecuteAsync(database, $"""
            INSERT INTO {PostgreSqlHistorySchema.Table} (seq, replica, id, trace_id, start_time, start_offset_minutes, duration_ms, route, status,
                input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, tokens_estimated, unpriced, steps, has_content, latency_bucket, cost_usd)
            VALUES (42, 'old', 'old-4', 'abc', now(), 0, 1.5, '/api/chat', 'ok', 1, 2, 0, 0, false, false,
                '[["preprocessing",0,1,"ok",null,0],["llm_api_call",1,10,"error","timeout",0]]', false, 0, 0.25)
            """);

        await using var store = await StartAsync(database, "upgraded", required: true);
        Assert.Equal(PostgreSqlHistorySchema.Version, await ScalarAsync<int>(database, "SELECT version FROM llm_apm_schema"));
        var old = store.Find("old-4")!;
        Assert.Equal([new LlmStepRecord("preprocessing", 0, 1, "ok", null, 0), new LlmStepRecord("llm_api_call", 1, 10, "error", "timeout", 0)], old.Steps);
        Assert.Equal(0, old.DroppedSteps);
        Assert.Null(old.UserId);
        Assert.Null(old.TenantId);
        Assert.Empty(old.Properties);

        store.Add(new LlmRequestRecord { Id = "new-5", TraceId = "abc", Route = "/api/chat", Status = "ok", StartTime = DateTimeOffset.UtcNow, TenantId = "acme", CostUsd = 0.5m });
        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(["new-5"], store.Query(new LlmHistoryQuery { TenantId = "acme" }).Select(r => r.Id));
        Assert.Equal(
            [new LlmSpendRow("acme", 1, 0.5m, 0, 0, 0), new LlmSpendRow(null, 1, 0.25m, 1, 2, 0)],
            store.Spend(new LlmSpendQuery { From = DateTimeOffset.UtcNow.AddHours(-1) }));
    }

    [Fact]
    public async Task Spend_MixedRecordsTwoReplicas_AgreesWithTheDefaultForEveryQuestion()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var a = await StartAsync(database, "r1");
        await using var b = await StartAsync(database, "r2");
        var now = DateTimeOffset.UtcNow.AddHours(-4);
        var from = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        var records = SpendDataSet.Records(from);
        foreach (var record in records)
        {
            (record.Replica == "r1" ? a : b).Add(record);
        }

        Assert.True(await a.FlushAsync(TimeSpan.FromSeconds(20)));
        Assert.True(await b.FlushAsync(TimeSpan.FromSeconds(20)));
        foreach (var store in new[] { a, b })
        {
            foreach (var query in SpendDataSet.Questions(from))
            {
                var expected = LlmSpendQuery.Compute(records, query);
                var actual = store.Spend(query);
                Assert.True(expected.SequenceEqual(actual), $"{SpendDataSet.Describe(query)}:\nexpected {string.Join("; ", expected)}\nactual   {string.Join("; ", actual)}");
            }
        }

        // The data set has what the comparison must cover: no key, unpriced only, ties broken by key.
        var byUser = a.Spend(new LlmSpendQuery { From = from, By = LlmSpendDimension.User, Limit = 500 });
        Assert.Contains(byUser, r => r.Key is null);
        Assert.True(byUser.Count(r => r.UnpricedRequests > 0 && r.CostUsd == 0) >= 2);
        Assert.Contains(a.Spend(new LlmSpendQuery { From = from, By = LlmSpendDimension.Model }), r => r.Key is null);
    }

    [Fact]
    public async Task Query_UserTenantAndPropertyFilters_MatchTheRecordsAndUseIndexes()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var store = await StartAsync(database, "filters");
        var from = DateTimeOffset.UtcNow.AddHours(-4);
        var records = SpendDataSet.Records(new DateTimeOffset(from.UtcTicks - (from.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero), 120);
        foreach (var record in records)
        {
            store.Add(record);
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(20)));
        foreach (var query in new[]
        {
            new LlmHistoryQuery { TenantId = "acme", Limit = 500 },
            new LlmHistoryQuery { UserId = "u3", Limit = 500 },
            new LlmHistoryQuery { UserId = "u3", TenantId = "globex", Limit = 500 },
            new LlmHistoryQuery { PropertyKey = "feature", Limit = 500 },
            new LlmHistoryQuery { PropertyKey = "feature", PropertyValue = "chat", Limit = 500 },
            new LlmHistoryQuery { PropertyKey = "feature", PropertyValue = "nothing", Limit = 500 },
            new LlmHistoryQuery { PropertyKey = "absent", Limit = 500 },
            new LlmHistoryQuery { TenantId = "acme", PropertyKey = "feature", PropertyValue = "search", Status = "ok", Limit = 500 },
        })
        {
            Assert.Equal(records.Where(query.Matches).Select(r => r.Id).Reverse(), store.Query(query).Select(r => r.Id));
        }

        Assert.NotEmpty(store.Query(new LlmHistoryQuery { PropertyKey = "feature", PropertyValue = "chat" }));

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SET enable_seqscan = off";
        await command.ExecuteNonQueryAsync();
        foreach (var (where, index) in new[]
        {
            ("tenant_id = 'acme' ORDER BY seq DESC LIMIT 50", "_tenant"),
            ("user_id = 'u3' ORDER BY seq DESC LIMIT 50", "_user"),
            ("properties ? 'feature'", "_properties"),
            ("properties @> jsonb_build_object('feature'::text, 'chat'::text)", "_properties"),
        })
        {
            command.CommandText = $"EXPLAIN SELECT * FROM {PostgreSqlHistorySchema.Table} WHERE {where}";
            var plan = string.Join('\n', await ReadAllAsync(command));
            Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);
            Assert.Contains(PostgreSqlHistorySchema.Table + index, plan, StringComparison.Ordinal);
        }
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
