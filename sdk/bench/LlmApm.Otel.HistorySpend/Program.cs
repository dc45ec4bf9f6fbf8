// How long one spend query takes over a window of `records` requests: the store's SQL (GROUP BY) against the default
// that reads every record of the window (ILlmHistoryStore.Since, then adds them up in the process).
//
//   dotnet run -c Release --project sdk/bench/LlmApm.Otel.HistorySpend -- [sqlite|postgresql] [records=100000]
//
// SQLite: a database in the temp folder, the default ring of 10,000 records in memory (so the newest 10,000 are added
// in the process and the rest grouped in SQL). PostgreSQL: ConnectionStrings__LlmApmHistory names an empty database.
// The records spread over the last 23 hours: 50 tenants, 2,000 users, 4 models, 3 routes, one in ten unpriced.
using System.Diagnostics;
using System.Globalization;
using LlmApm.Otel;
using LlmApm.Otel.History;
using LlmApm.Otel.PostgreSql;
using LlmApm.Otel.Sqlite;
using Microsoft.Extensions.Options;

var which = args.Length > 0 ? args[0] : "sqlite";
var records = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
var folder = Directory.CreateTempSubdirectory("llm-apm-spend-").FullName;
try
{
    ILlmHistoryStore store;
    Func<TimeSpan, Task<bool>> flush;
    IAsyncDisposable owner;
    if (which == "postgresql")
    {
        var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__LlmApmHistory")
            ?? throw new InvalidOperationException("Set ConnectionStrings__LlmApmHistory to an empty PostgreSQL database.");
        var postgres = new PostgreSqlLlmHistoryStore(Options.Create(new PostgreSqlHistoryOptions { ConnectionString = connectionString, QueueCapacity = records + 1, InstanceId = "bench" }));
        await postgres.StartAsync();
        (store, flush, owner) = (postgres, postgres.FlushAsync, postgres);
    }
    else
    {
        var sqlite = new SqliteLlmHistoryStore(
            Options.Create(new SqliteHistoryOptions { Path = Path.Combine(folder, "spend.db"), QueueCapacity = records + 1 }),
            Options.Create(new LlmApmOptions()));
        sqlite.Open();
        (store, flush, owner) = (sqlite, sqlite.FlushAsync, sqlite);
    }

    var now = DateTimeOffset.UtcNow;
    var fill = Stopwatch.StartNew();
    for (var i = 0; i < records; i++)
    {
        store.Add(Record(i, now - TimeSpan.FromHours(23) + TimeSpan.FromTicks(TimeSpan.FromHours(23).Ticks / records * i)));
    }

    if (!await flush(TimeSpan.FromMinutes(10)))
    {
        throw new InvalidOperationException("The records were not all written.");
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{which}: {records:N0} records written in {fill.Elapsed.TotalSeconds:0.0} s"));
    var from = now.AddHours(-24);
    foreach (var (by, tenant) in new (LlmSpendDimension, string?)[]
    {
        (LlmSpendDimension.Tenant, null), (LlmSpendDimension.User, null), (LlmSpendDimension.Model, null), (LlmSpendDimension.User, "tenant-7"),
    })
    {
        var query = new LlmSpendQuery { From = from, By = by, TenantId = tenant, Limit = 20 };
        var sql = Time(() => store.Spend(query), out var rows);
        var byRecords = Time(() => ((ILlmHistoryStore)new ReadsEveryRecord(store)).Spend(query), out var expected);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  by {by,-6} {(tenant is null ? string.Empty : "tenant=" + tenant),-16} SQL: median {sql.Median,7:0.0} ms (min {sql.Min,6:0.0}, max {sql.Max,6:0.0})   reading every record: median {byRecords.Median,7:0.0} ms   same answer: {rows.SequenceEqual(expected)}"));
    }

    await owner.DisposeAsync();
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    Directory.Delete(folder, recursive: true);
}

// Seven runs after one warm-up: the median, the fastest and the slowest.
static (double Median, double Min, double Max) Time(Func<IReadOnlyList<LlmSpendRow>> run, out IReadOnlyList<LlmSpendRow> result)
{
    result = run();
    var times = new List<double>();
    for (var i = 0; i < 7; i++)
    {
        var watch = Stopwatch.StartNew();
        result = run();
        times.Add(watch.Elapsed.TotalMilliseconds);
    }

    times.Sort();
    return (times[3], times[0], times[^1]);
}

static LlmRequestRecord Record(int i, DateTimeOffset start) => new()
{
    Id = Guid.NewGuid().ToString("N"),
    TraceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
    Route = (i % 3) switch { 0 => "/api/chat", 1 => "/api/summarize", _ => "/api/search" },
    Status = i % 20 == 0 ? "error" : "ok",
    Model = (i % 4) switch { 0 => "gpt-4o", 1 => "gpt-4o-mini", 2 => "claude-sonnet-4", _ => "gemini-2.5-flash" },
    TenantId = "tenant-" + (i % 50).ToString(CultureInfo.InvariantCulture),
    UserId = "user-" + (i % 2_000).ToString(CultureInfo.InvariantCulture),
    StartTime = start,
    DurationMs = 120 + (i % 300),
    Usage = new LlmUsage(250 + (i % 100), 120),
    CostUsd = i % 10 == 0 ? null : 0.000123m * (1 + (i % 7)),
    Unpriced = i % 10 == 0,
    Steps = [new LlmStepRecord("llm_api_call", 1, 100, "ok", null, 0, LlmStepKinds.LlmCall, "openai/gpt-4o@2026-11-01")],
};

/// <summary>The store's records with the interface's default spend query: read them all, add them up in the process.</summary>
internal sealed class ReadsEveryRecord(ILlmHistoryStore store) : ILlmHistoryStore
{
    public long Add(LlmRequestRecord record) => store.Add(record);

    public LlmRequestRecord? Find(string id) => store.Find(id);

    public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query) => store.Query(query);

    public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from) => store.Since(from);
}
