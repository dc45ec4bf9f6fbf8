using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Sqlite.Tests;

/// <summary>A row whose text the store cannot decode (steps or properties that are not its JSON, a cost that is not a
/// number), changed through a raw SQLite connection, is skipped and counted: pages stay full and keep their cursor,
/// the open and the summary's start-up read work, the store stays healthy, and the log warns once.</summary>
public sealed class SqliteLlmHistoryStoreCorruptRowTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("llm-apm-sqlite-corrupt-").FullName;
    private readonly ListLogger<SqliteLlmHistoryStore> log = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    public async Task Query_RowsThatCannotBeDecoded_SkipsThemAndKeepsThePageFull()
    {
        var path = Path.Combine(this.folder, "h.db");
        await using var store = this.Create(path);
        store.Open();
        for (var i = 1; i <= 40; i++)
        {
            store.Add(Record(i));
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        Corrupt(path, 23, "steps", "not json");
        Corrupt(path, 22, "steps", """{"a":1}""");
        Corrupt(path, 21, "properties", "[1,2]");
        Corrupt(path, 20, "cost_usd", "abc");

        // The ring holds seq 36-40: this page is read from the database, across the four bad rows.
        var page = store.Query(new LlmHistoryQuery { Limit = 10, Before = 30 });

        Assert.Equal([29, 28, 27, 26, 25, 24, 19, 18, 17, 16], page.Select(r => r.Seq));
        Assert.Equal(4, store.SkippedRows);
        Assert.Null(store.Find("r23"));
        Assert.Equal("r24", store.Find("r24")!.Id);
        Assert.DoesNotContain(store.Since(DateTimeOffset.UnixEpoch), r => r.Seq is >= 20 and <= 23);
        Assert.True(store.Health.IsHealthy);
        Assert.Empty(this.log.Errors);
        var warning = Assert.Single(this.log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains("seq 23", warning.Message, StringComparison.Ordinal);
        Assert.Contains(path, warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not json", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_LastRowsOfTheTableCannotBeDecoded_EndsThePageShort()
    {
        var path = Path.Combine(this.folder, "h.db");
        await using var store = this.Create(path);
        store.Open();
        for (var i = 1; i <= 20; i++)
        {
            store.Add(Record(i));
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        Corrupt(path, 1, "steps", "[");
        Corrupt(path, 2, "steps", "[");

        var page = store.Query(new LlmHistoryQuery { Limit = 10, Before = 8 });

        Assert.Equal([7, 6, 5, 4, 3], page.Select(r => r.Seq));
    }

    [Fact]
    public async Task Open_NewestRowCannotBeDecoded_OpensTheDatabaseAndSkipsIt()
    {
        var path = Path.Combine(this.folder, "h.db");
        await using (var first = this.Create(path))
        {
            first.Open();
            for (var i = 1; i <= 10; i++)
            {
                first.Add(Record(i));
            }

            Assert.True(await first.FlushAsync(TimeSpan.FromSeconds(30)));
        }

        Corrupt(path, 10, "steps", "]]");
        Corrupt(path, 9, "cost_usd", "1e400");
        using var events = new SkippedRowEvents();

        await using var store = this.Create(path);
        store.Open();

        Assert.True(store.IsOpen);
        Assert.True(store.Health.IsHealthy);
        Assert.Equal(8, store.Query(new LlmHistoryQuery()).Count);

        // The summary's rollups, loaded from the rows at open, skip the row whose cost is not a number and count the rest.
        var cells = store.Aggregate(new LlmHistoryAggregateQuery { From = DateTimeOffset.UtcNow.AddHours(-1), To = DateTimeOffset.UtcNow.AddMinutes(1), Bucket = TimeSpan.FromHours(2) });
        Assert.Equal(9, cells.Sum(c => c.Count));
        Assert.Contains(events.Seqs, s => s == 10);
        Assert.Contains(events.Seqs, s => s == 9);
    }

    private static void Corrupt(string path, long seq, string column, string text)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"UPDATE requests SET {column} = $text WHERE seq = $seq";
        command.Parameters.AddWithValue("$text", text);
        command.Parameters.AddWithValue("$seq", seq);
        Assert.Equal(1, command.ExecuteNonQuery());
    }

    private static LlmRequestRecord Record(int i) => new()
    {
        Id = "r" + i,
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        Route = "/api/chat",
        Status = "ok",
        Model = "gpt-4o-mini",
        StartTime = DateTimeOffset.UtcNow,
        DurationMs = 12.5,
        CostUsd = 0.001m,
        Steps = [new LlmStepRecord("llm_api_call", 0, 10, "ok", null, 0)],
        Properties = new Dictionary<string, string> { ["plan"] = "pro" },
    };

    private SqliteLlmHistoryStore Create(string path)
        => new(
            Options.Create(new SqliteHistoryOptions { Path = path, FlushInterval = TimeSpan.FromMilliseconds(20) }),
            Options.Create(new LlmApmOptions { HistoryCapacity = 5 }),
            this.log);

    /// <summary>The seqs of the <c>LlmApm-Sqlite</c> source's skipped-row events.</summary>
    private sealed class SkippedRowEvents : EventListener
    {
        private readonly ConcurrentQueue<long> seqs = new();

        public IReadOnlyList<long> Seqs => [.. this.seqs];

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "LlmApm-Sqlite")
            {
                this.EnableEvents(eventSource, EventLevel.Warning);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName == "RowSkipped" && eventData.Payload is [long seq, ..])
            {
                this.seqs.Enqueue(seq);
            }
        }
    }
}
