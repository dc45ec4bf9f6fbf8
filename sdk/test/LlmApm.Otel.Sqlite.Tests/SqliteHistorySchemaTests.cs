using System.Reflection;
using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Sqlite.Tests;

/// <summary>The store's own row keeps every property of a record, and a version 1 database (records as JSON) is
/// migrated.</summary>
public sealed class SqliteHistorySchemaTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("llm-apm-sqlite-schema-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    public async Task Read_EveryPropertySet_SurvivesTheDatabase()
    {
        var path = Path.Combine(this.folder, "roundtrip.db");
        var original = Full();
        await using (var store = Open(path))
        {
            original = original.WithSeq(store.Add(original));
            store.Add(new LlmRequestRecord { Id = "newer", TraceId = "t", Route = "/r", Status = "ok" });
            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));
        }

        // A ring of one keeps only the newer record: the full one is read from the database.
        await using var reopened = Open(path);
        var read = reopened.Find(original.Id)!;

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
    }

    [Fact]
    public async Task Open_Version1Database_MigratesItsRecords()
    {
        var path = Path.Combine(this.folder, "v1.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE requests (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, start_time_ms INTEGER NOT NULL, status TEXT NOT NULL,
                    model TEXT, route TEXT NOT NULL, trace_id TEXT NOT NULL, record TEXT NOT NULL);
                CREATE INDEX ix_requests_id ON requests (id COLLATE NOCASE);
                CREATE INDEX ix_requests_start ON requests (start_time_ms);
                INSERT INTO requests VALUES (7, 'old', 0, 'error', 'gpt-4o', '/api/chat', 'abc',
                    '{"id":"old","seq":7,"traceId":"abc","startTime":"2026-01-02T03:04:05.006+02:00","durationMs":12.5,"route":"/api/chat","model":"gpt-4o","status":"error","errorType":"timeout","tokens":{"input":10,"output":5,"cachedInput":1,"reasoning":2,"total":15,"estimated":true},"costUsd":0.0123,"unpriced":false,"steps":[{"name":"llm_api_call","offsetMs":1,"durationMs":10,"status":"error","errorType":"timeout","depth":0}],"content":null}');
                PRAGMA user_version = 1;
                """;
            command.ExecuteNonQuery();
        }

        await using var store = Open(path);
        var record = store.Find("old")!;

        Assert.Equal(7, record.Seq);
        Assert.Equal("timeout", record.ErrorType);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, 6, TimeSpan.FromHours(2)), record.StartTime);
        Assert.Equal(new LlmUsage(10, 5, CachedInputTokens: 1, ReasoningTokens: 2, Estimated: true), record.Usage);
        Assert.Equal(0.0123m, record.CostUsd);
        Assert.Equal([new LlmStepRecord("llm_api_call", 1, 10, "error", "timeout", 0)], record.Steps);
        store.Add(new LlmRequestRecord { Id = "next", TraceId = "t", Route = "/r", Status = "ok" });
        Assert.Equal(8, store.Find("next")!.Seq);
    }

    [Fact]
    public async Task Read_StepsWrittenBeforeKinds_ReadAsKindStep()
    {
        var path = Path.Combine(this.folder, "six-items.db");
        await using (var store = Open(path))
        {
            store.Add(Full());
            store.Add(new LlmRequestRecord { Id = "newer", TraceId = "t", Route = "/r", Status = "ok" });
            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));
        }

        // A row as the schema wrote it before steps had a kind: six items per step.
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """UPDATE requests SET steps = '[["llm_api_call",1,10,"error","timeout",0]]' WHERE id = $id""";
            command.Parameters.AddWithValue("$id", Full().Id);
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        await using var reopened = Open(path);
        Assert.Equal([new LlmStepRecord("llm_api_call", 1, 10, "error", "timeout", 0, LlmStepKinds.Step)], reopened.Find(Full().Id)!.Steps);
    }

    [Fact]
    public async Task Open_Version2Database_AddsTheReplicaColumnAndIndex()
    {
        var path = Path.Combine(this.folder, "v2.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE requests (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, trace_id TEXT NOT NULL, span_id TEXT,
                    start_utc_ticks INTEGER NOT NULL, start_offset_minutes INTEGER NOT NULL, duration_ms REAL NOT NULL,
                    route TEXT NOT NULL, model TEXT, provider TEXT, conversation_id TEXT, status TEXT NOT NULL, error_type TEXT,
                    error_message TEXT, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
                    cached_input_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, tokens_estimated INTEGER NOT NULL,
                    cost_usd TEXT, unpriced INTEGER NOT NULL, steps TEXT NOT NULL, has_content INTEGER NOT NULL, prompt TEXT,
                    completion TEXT);
                CREATE INDEX ix_requests_id ON requests (id COLLATE NOCASE);
                CREATE INDEX ix_requests_start ON requests (start_utc_ticks);
                INSERT INTO requests VALUES (4, 'two', 'abc', NULL, 638000000000000000, 0, 3.5, '/api/chat', 'gpt-4o', NULL, NULL,
                    'ok', NULL, NULL, 1, 2, 0, 0, 0, '0.5', 0, '[]', 0, NULL, NULL);
                PRAGMA user_version = 2;
                """;
            command.ExecuteNonQuery();
        }

        await using (var store = Open(path))
        {
            var old = store.Find("two")!;
            Assert.Equal(4, old.Seq);
            Assert.Null(old.Replica);
            Assert.Equal(0.5m, old.CostUsd);
            store.Add(new LlmRequestRecord { Id = "three", TraceId = "t", Route = "/r", Status = "ok", Replica = "replica-b" });
            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));
        }

        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version;";
            Assert.Equal(SqliteLlmHistoryStore.SchemaVersion, Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
            command.CommandText = "SELECT replica FROM requests WHERE id = 'three';";
            Assert.Equal("replica-b", command.ExecuteScalar());

            // The replica filter pages through an index, not a scan of the table.
            command.CommandText = "EXPLAIN QUERY PLAN SELECT seq FROM requests WHERE replica = 'replica-b' AND seq < 100 ORDER BY seq DESC LIMIT 50;";
            using var plan = command.ExecuteReader();
            var steps = new List<string>();
            while (plan.Read())
            {
                steps.Add(plan.GetString(3));
            }

            Assert.Contains(steps, step => step.Contains("ix_requests_replica", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Open_Version4Database_AddsAttributionAndReadsOldSteps()
    {
        var path = Path.Combine(this.folder, "v4.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();

            // Version 4's tables, with a row as it wrote it: steps of seven items (no price), the dropped count after them.
            command.CommandText = """
                CREATE TABLE requests (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, trace_id TEXT NOT NULL, span_id TEXT,
                    start_utc_ticks INTEGER NOT NULL, start_offset_minutes INTEGER NOT NULL, duration_ms REAL NOT NULL,
                    route TEXT NOT NULL, model TEXT, provider TEXT, conversation_id TEXT, status TEXT NOT NULL, error_type TEXT,
                    error_message TEXT, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
                    cached_input_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, tokens_estimated INTEGER NOT NULL,
                    cost_usd TEXT, unpriced INTEGER NOT NULL, steps TEXT NOT NULL, has_content INTEGER NOT NULL, prompt TEXT,
                    completion TEXT, replica TEXT);
                CREATE INDEX ix_requests_id ON requests (id COLLATE NOCASE);
                CREATE INDEX ix_requests_start ON requests (start_utc_ticks);
                CREATE INDEX ix_requests_replica ON requests (replica, seq);
                CREATE TABLE scores (request_seq INTEGER NOT NULL, name TEXT NOT NULL, kind INTEGER NOT NULL, value REAL, label TEXT,
                    polarity INTEGER NOT NULL, comment TEXT, source TEXT, utc_ticks INTEGER NOT NULL);
                CREATE INDEX ix_scores_request ON scores (request_seq);
                INSERT INTO requests VALUES (9, 'four', 'abc', NULL, 638000000000000000, 0, 3.5, '/api/chat', 'gpt-4o', NULL, NULL,
                    'ok', NULL, NULL, 1, 2, 0, 0, 0, '0.5', 0,
                    '[["llm_api_call",1,2,"ok",null,0,"llm_call"],["tool",3,1,"ok",null,1,"tool"],5]', 0, NULL, NULL, 'r1');
                PRAGMA user_version = 4;
                """;
            command.ExecuteNonQuery();
        }

        await using (var store = Open(path))
        {
            var old = store.Find("four")!;
            Assert.Equal(9, old.Seq);
            Assert.Equal([new LlmStepRecord("llm_api_call", 1, 2, "ok", null, 0, LlmStepKinds.LlmCall), new LlmStepRecord("tool", 3, 1, "ok", null, 1, LlmStepKinds.Tool)], old.Steps);
            Assert.Equal(5, old.DroppedSteps);
            Assert.Null(old.UserId);
            Assert.Null(old.TenantId);
            Assert.Empty(old.Properties);
            store.Add(new LlmRequestRecord { Id = "five", TraceId = "t", Route = "/r", Status = "ok", TenantId = "acme", UserId = "u1" });
            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));
        }

        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version;";
            Assert.Equal(SqliteLlmHistoryStore.SchemaVersion, Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
            command.CommandText = "SELECT count(*) FROM requests WHERE tenant_id IS NULL AND user_id IS NULL AND properties IS NULL;";
            Assert.Equal(1L, command.ExecuteScalar());

            // The tenant and user filters page through their indexes, newest first.
            foreach (var (column, index) in new[] { ("tenant_id", "ix_requests_tenant"), ("user_id", "ix_requests_user") })
            {
                command.CommandText = $"EXPLAIN QUERY PLAN SELECT seq FROM requests WHERE {column} = 'x' AND seq < 100 ORDER BY seq DESC LIMIT 50;";
                Assert.Contains(Plan(command), step => step.Contains(index, StringComparison.Ordinal));
            }

            // The spend query reads its window through the start-time index, whatever it groups or filters by.
            foreach (var by in Enum.GetValues<LlmSpendDimension>())
            {
                using var spend = Sqlite.Implementation.SqliteSpend.Create(connection, new LlmSpendQuery { From = DateTimeOffset.UtcNow, By = by, TenantId = "acme" }, 1000);
                spend.CommandText = "EXPLAIN QUERY PLAN " + spend.CommandText;
                Assert.Contains(Plan(spend), step => step.Contains("USING INDEX ix_requests_start (start_utc_ticks>?)", StringComparison.Ordinal));
            }
        }
    }

    private static List<string> Plan(SqliteCommand command)
    {
        using var plan = command.ExecuteReader();
        var steps = new List<string>();
        while (plan.Read())
        {
            steps.Add(plan.GetString(3));
        }

        return steps;
    }

    private static SqliteLlmHistoryStore Open(string path)
    {
        var store = new SqliteLlmHistoryStore(
            Options.Create(new SqliteHistoryOptions { Path = path, FlushInterval = TimeSpan.FromMilliseconds(20) }),
            Options.Create(new LlmApmOptions { HistoryCapacity = 1 }));
        store.Open();
        Assert.True(store.IsOpen, store.Health.Reason);
        return store;
    }

    private static LlmRequestRecord Full() => new()
    {
        Id = "0123456789abcdef0123456789abcdef",
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = "00f067aa0ba902b7",
        StartTime = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.FromHours(-5)).AddTicks(1234567),
        DurationMs = 1234.5678901,
        Route = "/api/chat",
        Model = "gpt-4o-mini-2024-07-18",
        Provider = "openai",
        ConversationId = "conv-1",
        Replica = "chat-7f9c-1",
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
        Content = new LlmContentRecord("the prompt", null),
        UserId = "user-ü 42",
        TenantId = "acme",
        Properties = new Dictionary<string, string> { ["feature"] = "chat", ["ab.test-1"] = "b \"quoted\" é", ["empty"] = string.Empty },
        DroppedSteps = 3,
    };
}
