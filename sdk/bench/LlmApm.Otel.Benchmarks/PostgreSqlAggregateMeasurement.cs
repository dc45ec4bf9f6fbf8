using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using LlmApm.Otel.History;
using LlmApm.Otel.PostgreSql;
using Microsoft.Extensions.Options;
using Npgsql;

namespace LlmApm.Otel.Benchmarks;

/// <summary>
/// Issue 13 on PostgreSQL, not a BenchmarkDotNet benchmark: N records (default 1,000,000) over the last 24 hours are
/// written through the store (binary COPY and the rollups, as a service writes them), then the 24-hour summary and
/// series are computed 20 times from the rollups (median and worst), and 3 times from the rows for comparison. Last, the
/// rollups are emptied and the schema set back to 5, and a required store's start times the migration's backfill.
/// <c>ConnectionStrings__LlmApmHistory</c> names an empty database; without it a throwaway cluster is started from
/// /usr/lib/postgresql/&lt;version&gt;/bin (as the postgres user when run as root) and removed at the end.
/// </summary>
internal static class PostgreSqlAggregateMeasurement
{
    private const int Runs = 20;

    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var given = Environment.GetEnvironmentVariable("ConnectionStrings__LlmApmHistory");
        await using var cluster = given is null ? await Cluster.StartAsync().ConfigureAwait(false) : null;
        var database = given ?? await cluster!.CreateDatabaseAsync("aggregates").ConfigureAwait(false);
        var now = DateTimeOffset.UtcNow;

        var watch = Stopwatch.StartNew();
        await using (var writing = Create(database, count))
        {
            await writing.StartAsync().ConfigureAwait(false);
            foreach (var chunk in Generate(count, now).Chunk(20_000))
            {
                foreach (var record in chunk)
                {
                    writing.Add(record);
                }

                await writing.FlushAsync(TimeSpan.FromMinutes(5)).ConfigureAwait(false);
            }
        }

        Console.WriteLine($"postgresql: {count:N0} records written (rows and rollups) in {watch.Elapsed.TotalSeconds:F1} s ({count / watch.Elapsed.TotalSeconds:N0}/s)");
        await using (var store = Create(database, 1))
        {
            await store.StartAsync().ConfigureAwait(false);
            await Task.Delay(500).ConfigureAwait(false);
            Measure("postgresql rollups", store.Aggregate, now, Runs);
            Measure("postgresql rows   ", store.AggregateRows, now, 3);
        }

        // The backfill of migration 6, on the same rows.
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync().ConfigureAwait(false);
            await using var command = new NpgsqlCommand("""
                TRUNCATE llm_apm_rollups; UPDATE llm_apm_schema SET version = 5;
                DROP INDEX ux_llm_apm_requests_replica_seq; CREATE INDEX ix_llm_apm_requests_replica ON llm_apm_requests (replica, seq);
                """, connection);
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        watch.Restart();
        await using (var migrating = Create(database, 1, required: true))
        {
            await migrating.StartAsync().ConfigureAwait(false);
            Console.WriteLine($"postgresql: migration 5 -> 6 with the rollups' backfill of {count:N0} rows in {watch.Elapsed.TotalSeconds:F1} s");
            Measure("postgresql backfilled rollups", migrating.Aggregate, now, 3);
        }

        return 0;
    }

    private static PostgreSqlLlmHistoryStore Create(string database, int queue, bool required = false)
        => new(Options.Create(new PostgreSqlHistoryOptions
        {
            ConnectionString = database,
            InstanceId = "bench",
            QueueCapacity = queue + 1,
            Required = required,
            FlushInterval = TimeSpan.FromMilliseconds(20),
        }));

    private static void Measure(string name, Func<LlmHistoryAggregateQuery, IReadOnlyList<LlmHistoryCell>> aggregate, DateTimeOffset now, int runs)
    {
        // One untimed run first, as for SQLite: the store's first read opens its connection pool.
        _ = aggregate(new LlmHistoryAggregateQuery { From = now.AddHours(-1), To = now, Bucket = TimeSpan.FromMinutes(1) });
        var summary = new List<double>(runs);
        var series = new List<double>(runs);
        long counted = 0;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < runs; i++)
        {
            var watch = Stopwatch.StartNew();
            var from = LlmHistoryAnalytics.AlignDown(now.AddHours(-24), TimeSpan.FromMinutes(1));
            var figures = LlmHistoryAnalytics.SummarizeCells(aggregate(new LlmHistoryAggregateQuery { From = from, To = now, Bucket = now - from }), from, now);
            summary.Add(watch.Elapsed.TotalMilliseconds);
            counted = figures.Count;

            watch.Restart();
            var bucket = TimeSpan.FromMinutes(30);
            var to = new DateTimeOffset(((now.UtcTicks / bucket.Ticks) + 1) * bucket.Ticks, TimeSpan.Zero);
            _ = LlmHistoryAnalytics.TimeSeriesOfCells(aggregate(new LlmHistoryAggregateQuery { From = to.AddHours(-24), To = to, Bucket = bucket }), to.AddHours(-24), to, bucket);
            series.Add(watch.Elapsed.TotalMilliseconds);
        }

        var cpuPerRun = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / runs;
        summary.Sort();
        series.Sort();
        Console.WriteLine(
            $"{name}: summary 24h over {counted:N0} requests: median {summary[runs / 2]:F2} ms, worst {summary[^1]:F2} ms; "
            + $"timeseries 24h: median {series[runs / 2]:F2} ms, worst {series[^1]:F2} ms ({runs} runs; this process's CPU {cpuPerRun:F2} ms per summary + series, the server's not counted)");
    }

    /// <summary>Records as the SQLite and memory measurement makes them: two models, one route, two replicas, 5% errors,
    /// 4 steps, oldest first.</summary>
    private static IEnumerable<LlmRequestRecord> Generate(int count, DateTimeOffset now)
    {
        var random = new Random(13);
        LlmStepRecord[] steps =
        [
            new("preprocessing", 0, 1, "ok", null, 0),
            new("retrieval", 1, 5, "ok", null, 0),
            new("llm_api_call", 6, 300, "ok", null, 0),
            new("postprocessing", 306, 1, "ok", null, 0),
        ];
        for (var i = 0; i < count; i++)
        {
            var error = random.Next(20) == 0;
            yield return new LlmRequestRecord
            {
                Id = $"{i + 1:x32}",
                TraceId = $"{(long)i << 20:x32}",
                SpanId = $"{i + 1:x16}",
                StartTime = now.AddHours(-24) + TimeSpan.FromTicks((TimeSpan.TicksPerDay - TimeSpan.TicksPerSecond) / count * i),
                DurationMs = 50 + (random.NextDouble() * 2000),
                Route = "/api/chat",
                Model = random.Next(3) == 0 ? "gpt-4o" : "gpt-4o-mini",
                Provider = "simulated",
                Replica = random.Next(2) == 0 ? "chat-1" : "chat-2",
                Status = error ? "error" : "ok",
                ErrorType = error ? "timeout" : null,
                Usage = new LlmUsage(random.Next(100, 2000), random.Next(10, 500)),
                CostUsd = random.Next(1, 100_000) / 100_000_000m,
                Steps = steps,
            };
        }
    }

    /// <summary>A throwaway PostgreSQL cluster on a free loopback port with default, durable settings; removed when
    /// disposed.</summary>
    private sealed class Cluster : IAsyncDisposable
    {
        private readonly string folder = Path.Combine(Path.GetTempPath(), "llmapm-bench-agg-" + Guid.NewGuid().ToString("N")[..8]);
        private string bin = string.Empty;
        private int port;

        public static async Task<Cluster> StartAsync()
        {
            var cluster = new Cluster();
            cluster.bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "pg_ctl"))).Order().Last();
            Directory.CreateDirectory(cluster.folder);
            if (Environment.UserName == "root")
            {
                await Run("chown", "postgres:postgres", cluster.folder).ConfigureAwait(false);
            }

            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                cluster.port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            await cluster.Server("initdb", "-D", cluster.folder + "/data", "-U", "apm", "--auth=trust", "-E", "UTF8", "--locale=C").ConfigureAwait(false);
            await cluster.Server("pg_ctl", "-D", cluster.folder + "/data", "-l", cluster.folder + "/server.log", "-w", "-o",
                $"-p {cluster.port} -k {cluster.folder} -c listen_addresses=127.0.0.1", "start").ConfigureAwait(false);
            return cluster;
        }

        public async Task<string> CreateDatabaseAsync(string name)
        {
            await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={this.port};Username=apm;Database=postgres");
            await connection.OpenAsync().ConfigureAwait(false);
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            return $"Host=127.0.0.1;Port={this.port};Username=apm;Database={name}";
        }

        public async ValueTask DisposeAsync()
        {
            await this.Server("pg_ctl", "-D", this.folder + "/data", "-m", "fast", "-w", "stop").ConfigureAwait(false);
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
            await process.WaitForExitAsync().ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{file} failed: {await output.ConfigureAwait(false)}{await error.ConfigureAwait(false)}");
            }
        }
    }
}
