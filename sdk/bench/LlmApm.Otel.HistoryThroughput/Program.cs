// Records per second one replica's history store writes to its database with zero drops.
//
//   dotnet run -c Release --project sdk/bench/LlmApm.Otel.HistoryThroughput -- [sqlite|postgresql|both] [records]
//
// PostgreSQL: ConnectionStrings__LlmApmHistory names the database; without it a throwaway cluster is started from
// /usr/lib/postgresql/<version>/bin (as the postgres user when run as root) and removed at the end.
// Two phases per store: (1) capacity: `records` added at once into a queue that holds them all, timed until the last
// is written; (2) sustained: 10,000 records/s offered for 15 s with the default queue, counting drops.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LlmApm.Otel;
using LlmApm.Otel.History;
using LlmApm.Otel.PostgreSql;
using LlmApm.Otel.Sqlite;
using Microsoft.Extensions.Options;

var which = args.Length > 0 ? args[0] : "both";
var records = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000;
long dropped = 0;
using var listener = new MeterListener();
listener.InstrumentPublished = (instrument, l) =>
{
    if (instrument.Name == LlmApmTelemetry.Metrics.HistoryDropped)
    {
        l.EnableMeasurementEvents(instrument);
    }
};
listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref dropped, value));
listener.Start();

if (which is "sqlite" or "both")
{
    var folder = Directory.CreateTempSubdirectory("llm-apm-throughput-").FullName;
    try
    {
        await MeasureAsync("SQLite", queue =>
        {
            var store = new SqliteLlmHistoryStore(
                Options.Create(new SqliteHistoryOptions { Path = Path.Combine(folder, $"h{queue}.db"), QueueCapacity = queue }),
                Options.Create(new LlmApmOptions()));
            store.Open();
            return Task.FromResult<(ILlmHistoryStore, Func<TimeSpan, Task<bool>>, IAsyncDisposable)>((store, store.FlushAsync, store));
        });
    }
    finally
    {
        Directory.Delete(folder, recursive: true);
    }
}

if (which is "postgresql" or "both")
{
    var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__LlmApmHistory");
    await using var cluster = connectionString is null ? await Cluster.StartAsync() : null;
    var database = 0;
    await MeasureAsync("PostgreSQL", async queue =>
    {
        var cs = cluster is null ? connectionString! : await cluster.CreateDatabaseAsync($"throughput_{++database}");
        var store = new PostgreSqlLlmHistoryStore(Options.Create(new PostgreSqlHistoryOptions { ConnectionString = cs, QueueCapacity = queue, InstanceId = "bench" }));
        await store.StartAsync();
        return (store, store.FlushAsync, store);
    });
}

async Task MeasureAsync(string name, Func<int, Task<(ILlmHistoryStore Store, Func<TimeSpan, Task<bool>> Flush, IAsyncDisposable Owner)>> create)
{
    // (1) Capacity: the queue holds every record, so the writer alone sets the pace.
    var (store, flush, owner) = await create(records + 1);
    store.Add(Record(0));
    await flush(TimeSpan.FromSeconds(60)); // schema created, connection warm
    Interlocked.Exchange(ref dropped, 0);
    var cpu = Environment.CpuUsage.TotalTime;
    var watch = Stopwatch.StartNew();
    for (var i = 1; i <= records; i++)
    {
        store.Add(Record(i));
    }

    var written = await flush(TimeSpan.FromMinutes(5));
    watch.Stop();
    cpu = Environment.CpuUsage.TotalTime - cpu;
    await owner.DisposeAsync();

    // The process's CPU time too: on a shared machine the wall clock says as much about the other jobs as about the store.
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-10} capacity : {records:N0} records in {watch.Elapsed.TotalSeconds:0.00} s = {records / watch.Elapsed.TotalSeconds:N0} records/s ({cpu.TotalSeconds:0.00} s of CPU = {records / cpu.TotalSeconds:N0} records per CPU second), all written: {written}, dropped: {Interlocked.Read(ref dropped)}"));

    // (2) Sustained: 10,000 records/s for 15 s through the default queue; any drop is counted.
    (store, flush, owner) = await create(name == "SQLite" ? new SqliteHistoryOptions().QueueCapacity : new PostgreSqlHistoryOptions().QueueCapacity);
    store.Add(Record(0));
    await flush(TimeSpan.FromSeconds(60));
    Interlocked.Exchange(ref dropped, 0);
    const int Rate = 10_000;
    var seconds = 15;
    watch.Restart();
    var sent = 0;
    while (watch.Elapsed < TimeSpan.FromSeconds(seconds))
    {
        var due = (int)(watch.Elapsed.TotalSeconds * Rate);
        while (sent < due)
        {
            store.Add(Record(++sent));
        }

        await Task.Delay(1);
    }

    written = await flush(TimeSpan.FromSeconds(60));
    await owner.DisposeAsync();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-10} sustained: {sent:N0} records offered at {Rate:N0}/s for {seconds} s, all written: {written}, dropped: {Interlocked.Read(ref dropped)}"));
}

static LlmRequestRecord Record(int i) => new()
{
    Id = Guid.NewGuid().ToString("N"),
    TraceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
    SpanId = "00f067aa0ba902b7",
    Route = "/api/chat",
    Status = i % 20 == 0 ? "error" : "ok",
    ErrorType = i % 20 == 0 ? "rate_limited" : null,
    Model = "gpt-4o-mini",
    Provider = "openai",
    ConversationId = "c" + (i % 500).ToString(CultureInfo.InvariantCulture),
    StartTime = DateTimeOffset.UtcNow,
    DurationMs = 120 + (i % 300),
    Usage = new LlmUsage(250, 120, 0, 0),
    CostUsd = 0.000123m,
    Steps =
    [
        new LlmStepRecord("preprocessing", 0, 1.2, "ok", null, 0),
        new LlmStepRecord("retrieval", 1.2, 8.5, "ok", null, 0),
        new LlmStepRecord("llm_api_call", 9.7, 100, "ok", null, 0),
        new LlmStepRecord("postprocessing", 109.7, 2, "ok", null, 0),
    ],
};

/// <summary>A throwaway PostgreSQL cluster on a free loopback port, removed when disposed.</summary>
internal sealed class Cluster : IAsyncDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "llmapm-bench-pg-" + Guid.NewGuid().ToString("N")[..8]);
    private string bin = string.Empty;
    private int port;

    public static async Task<Cluster> StartAsync()
    {
        var cluster = new Cluster();
        var root = "/usr/lib/postgresql";
        cluster.bin = Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "pg_ctl"))).Order().Last();
        Directory.CreateDirectory(cluster.folder);
        if (Environment.UserName == "root")
        {
            await Run("chown", "postgres:postgres", cluster.folder);
        }

        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            cluster.port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        // Durable settings (fsync on): the figures are for a database that keeps what it acknowledged.
        await cluster.Server("initdb", "-D", cluster.folder + "/data", "-U", "apm", "--auth=trust", "-E", "UTF8", "--locale=C");
        await cluster.Server("pg_ctl", "-D", cluster.folder + "/data", "-l", cluster.folder + "/server.log", "-w", "-o",
            $"-p {cluster.port} -k {cluster.folder} -c listen_addresses=127.0.0.1", "start");
        return cluster;
    }

    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new Npgsql.NpgsqlConnection($"Host=127.0.0.1;Port={this.port};Username=apm;Database=postgres");
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return $"Host=127.0.0.1;Port={this.port};Username=apm;Database={name}";
    }

    public async ValueTask DisposeAsync()
    {
        await this.Server("pg_ctl", "-D", this.folder + "/data", "-m", "fast", "-w", "stop");
        Directory.Delete(this.folder, recursive: true);
    }

    private Task Server(string tool, params string[] arguments)
        => Environment.UserName == "root"
            ? Run("runuser", ["-u", "postgres", "--", Path.Combine(this.bin, tool), .. arguments])
            : Run(Path.Combine(this.bin, tool), arguments);

    private static async Task Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} failed: {await output}{await error}");
        }
    }
}
