using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Sqlite.Tests;

[Collection(ProcessWideTelemetry.Name)]
public sealed class SqliteLlmHistoryStoreScoresTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("llm-apm-sqlite-scores-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    public async Task AddScore_ThenReopen_KeepsScoresInOrderAndFiltersNegativeInTheDatabase()
    {
        var path = Path.Combine(this.folder, "scores.db");
        await using (var store = Open(path, ringCapacity: 2))
        {
            store.Add(Record("a", [LlmScore.Numeric("relevance", 0.9, label: "good", comment: "während", source: "judge")]));
            store.Add(Record("b"));
            store.Add(Record("c"));
            store.Add(Record("d"));
            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));

            // "a" and "b" are out of the ring: their scores are read from and written to the database.
            Assert.True(store.AddScore("a", LlmScore.Boolean(LlmScore.UserFeedback, false, source: "user")));
            Assert.True(store.AddScore("B", LlmScore.Categorical("topic", "billing")));
            Assert.True(store.AddScore("d", LlmScore.Boolean(LlmScore.UserFeedback, false)));
            Assert.False(store.AddScore("nope", LlmScore.Boolean(LlmScore.UserFeedback, false)));

            Assert.Equal(["relevance", LlmScore.UserFeedback], store.Find("a")!.Scores.Select(s => s.Name));
            Assert.Equal(["d", "a"], store.Query(new LlmHistoryQuery { NegativeOnly = true }).Select(r => r.Id));
        }

        await using (var reopened = Open(path, ringCapacity: 100))
        {
            var a = reopened.Find("a")!;
            Assert.Equal(2, a.Scores.Count);
            var relevance = a.Scores[0];
            Assert.Equal((LlmScoreKind.Numeric, 0.9, "good", "während", "judge", LlmScorePolarity.Neutral), (relevance.Kind, relevance.Value!.Value, relevance.Label, relevance.Comment, relevance.Source, relevance.Polarity));
            var feedback = a.Scores[1];
            Assert.Equal((LlmScoreKind.Boolean, "false", LlmScorePolarity.Negative, "user"), (feedback.Kind, feedback.Label, feedback.Polarity, feedback.Source));
            Assert.Equal("billing", Assert.Single(reopened.Find("b")!.Scores).Label);
            Assert.Empty(reopened.Find("c")!.Scores);
            Assert.Equal(["d", "a"], reopened.Query(new LlmHistoryQuery { NegativeOnly = true }).Select(r => r.Id));
            Assert.Equal(3, reopened.Since(DateTimeOffset.MinValue).Count(r => r.Scores.Count > 0));
        }
    }

    [Fact]
    public async Task Open_Version3Database_AddsTheScoresTableAndKeepsRecords()
    {
        var path = Path.Combine(this.folder, "v3.db");
        await using (var store = Open(path, ringCapacity: 10))
        {
            store.Add(Record("old"));
            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));
        }

        SqliteConnection.ClearAllPools();
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            // Back to version 3: no scores table, and none of version 5's columns.
            command.CommandText = """
                DROP TABLE scores; DROP INDEX ix_requests_tenant; DROP INDEX ix_requests_user;
                ALTER TABLE requests DROP COLUMN user_id; ALTER TABLE requests DROP COLUMN tenant_id; ALTER TABLE requests DROP COLUMN properties;
                ALTER TABLE requests DROP COLUMN cache_write_input_tokens;
                PRAGMA user_version = 3;
                """;
            command.ExecuteNonQuery();
        }

        await using (var migrated = Open(path, ringCapacity: 10))
        {
            Assert.NotNull(migrated.Find("old"));
            Assert.True(migrated.AddScore("old", LlmScore.Boolean(LlmScore.UserFeedback, true)));
            Assert.Single(migrated.Find("old")!.Scores);
        }

        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var version = check.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        Assert.Equal((long)SqliteLlmHistoryStore.SchemaVersion, version.ExecuteScalar());
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

    private static LlmRequestRecord Record(string id, IReadOnlyList<LlmScore>? scores = null) => new()
    {
        Id = id,
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        Route = "/api/chat",
        Status = "ok",
        Model = "gpt-4o-mini",
        StartTime = DateTimeOffset.UtcNow,
        Scores = scores ?? [],
    };
}
