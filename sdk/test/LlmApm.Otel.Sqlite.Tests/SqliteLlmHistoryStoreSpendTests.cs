using LlmApm.Otel.History;
using LlmApm.Otel.Tests.Shared;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Sqlite.Tests;

/// <summary>Who a request was for, in the database: the user, tenant and property filters in SQL, and the spend query's
/// GROUP BY agreeing with the default that reads every record.</summary>
public sealed class SqliteLlmHistoryStoreSpendTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("llm-apm-sqlite-spend-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    public async Task Spend_MixedRecordsInDatabaseAndMemory_AgreesWithTheDefaultForEveryQuestion()
    {
        var path = Path.Combine(this.folder, "spend.db");
        var from = WholeSecond(DateTimeOffset.UtcNow.AddHours(-4));
        var records = SpendDataSet.Records(from);
        await using (var store = Open(path, ringCapacity: 40))
        {
            foreach (var record in records)
            {
                store.Add(record);
            }

            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(20)));

            // 260 records from the database, the newest 40 from memory.
            AssertAgrees(store, records, from);
        }

        // Reopened: the ring is filled from the newest rows, and more records are added after it opened.
        await using var reopened = Open(path, ringCapacity: 40);
        var more = SpendDataSet.Records(from.AddMinutes(7), 30).Select((r, i) => new LlmRequestRecord
        {
            Id = $"more-{i}",
            TraceId = r.TraceId,
            Route = r.Route,
            Status = r.Status,
            Model = r.Model,
            TenantId = r.TenantId,
            UserId = r.UserId,
            Replica = r.Replica,
            StartTime = r.StartTime,
            Usage = r.Usage,
            CostUsd = r.CostUsd,
            Unpriced = r.Unpriced,
        }).ToList();
        foreach (var record in more)
        {
            reopened.Add(record);
        }

        AssertAgrees(reopened, [.. records, .. more], from);
    }

    [Fact]
    public async Task Spend_DatabaseNotOpen_AnswersFromMemory()
    {
        var store = new SqliteLlmHistoryStore(
            Options.Create(new SqliteHistoryOptions { Path = Path.Combine(this.folder, "never-opened.db") }),
            Options.Create(new LlmApmOptions { HistoryCapacity = 1_000 }));
        await using var owned = store;
        var from = WholeSecond(DateTimeOffset.UtcNow.AddHours(-4));
        var records = SpendDataSet.Records(from, 100);
        foreach (var record in records)
        {
            store.Add(record);
        }

        var query = new LlmSpendQuery { From = from, By = LlmSpendDimension.User };
        Assert.Equal(LlmSpendQuery.Compute(records, query), store.Spend(query));
        Assert.NotEmpty(store.Spend(query));
    }

    [Fact]
    public async Task Query_UserTenantAndPropertyFilters_ReadFromTheDatabase()
    {
        var path = Path.Combine(this.folder, "filters.db");
        var from = WholeSecond(DateTimeOffset.UtcNow.AddHours(-4));
        var records = SpendDataSet.Records(from, 120);
        await using var store = Open(path, ringCapacity: 5);
        foreach (var record in records)
        {
            store.Add(record);
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(20)));
        var questions = new[]
        {
            new LlmHistoryQuery { TenantId = "acme", Limit = 500 },
            new LlmHistoryQuery { UserId = "u3", Limit = 500 },
            new LlmHistoryQuery { UserId = "u3", TenantId = "globex", Limit = 500 },
            new LlmHistoryQuery { PropertyKey = "feature", Limit = 500 },
            new LlmHistoryQuery { PropertyKey = "feature", PropertyValue = "chat", Limit = 500 },
            new LlmHistoryQuery { PropertyKey = "feature", PropertyValue = "nothing", Limit = 500 },
            new LlmHistoryQuery { PropertyKey = "absent", Limit = 500 },
            new LlmHistoryQuery { TenantId = "acme", PropertyKey = "feature", PropertyValue = "search", Status = "ok", Limit = 500 },
        };
        foreach (var query in questions)
        {
            var expected = records.Where(query.Matches).Select(r => r.Id).Reverse().ToList();
            var page = store.Query(query);
            Assert.Equal(expected, page.Select(r => r.Id));
            Assert.All(page, r => Assert.Equal(records.Single(o => o.Id == r.Id).Properties.ToDictionary(), r.Properties.ToDictionary()));
        }

        Assert.NotEmpty(store.Query(questions[4]));

        // Paging through the database with a filter: every match once, newest first.
        var seen = new List<string>();
        long? before = null;
        while (store.Query(new LlmHistoryQuery { TenantId = "initech", Limit = 4, Before = before }) is { Count: > 0 } page)
        {
            seen.AddRange(page.Select(r => r.Id));
            before = page[^1].Seq;
        }

        Assert.Equal(records.Where(r => r.TenantId == "initech").Select(r => r.Id).Reverse(), seen);
    }

    private static void AssertAgrees(SqliteLlmHistoryStore store, List<LlmRequestRecord> records, DateTimeOffset from)
    {
        foreach (var query in SpendDataSet.Questions(from))
        {
            var expected = LlmSpendQuery.Compute(records, query);
            var actual = store.Spend(query);
            Assert.True(expected.SequenceEqual(actual), $"{SpendDataSet.Describe(query)}:\nexpected {string.Join("; ", expected)}\nactual   {string.Join("; ", actual)}");
        }

        // The data set has what the comparison must cover.
        var byUser = store.Spend(new LlmSpendQuery { From = from, By = LlmSpendDimension.User, Limit = 500 });
        Assert.Contains(byUser, r => r.Key is null);
        Assert.Contains(byUser, r => r.UnpricedRequests > 0 && r.CostUsd == 0);
        Assert.Contains(store.Spend(new LlmSpendQuery { From = from, By = LlmSpendDimension.Model }), r => r.Key is null);
    }

    private static DateTimeOffset WholeSecond(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

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
