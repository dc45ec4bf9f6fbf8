using System.Diagnostics;
using System.Globalization;
using LlmApm.Otel.History;
using LlmApm.Otel.Sqlite;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Benchmarks;

/// <summary>
/// Issue 13, not a BenchmarkDotNet benchmark (it needs a million records in place first): the cost of what
/// <c>api/summary?window=24h</c> and <c>api/timeseries?window=24h</c> compute (the store's aggregate and the figures
/// added up from it; the API's 2-second sharing is left out) with N records (default 1,000,000) spread over the last
/// 24 hours, on the in-memory store (ring of 10,000, the default) and on SQLite (written, then reopened so that the
/// rollups are loaded from the file). Prints the median and worst of 20 runs and the heap after a full collection
/// before and after them. With <c>--keep &lt;file&gt;</c> after the count, the SQLite file is kept there.
/// </summary>
internal static class AggregateMeasurement
{
    private const int Runs = 20;

    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;

        // "--keep <file>": write the SQLite history there and keep it (the dashboards load run starts the service on it).
        var keep = args.Length > 2 && args[1] == "--keep" ? Path.GetFullPath(args[2]) : null;
        var now = DateTimeOffset.UtcNow;
        var records = Generate(count, now);

        var memory = new InMemoryLlmHistoryStore(10_000);
        var watch = Stopwatch.StartNew();
        foreach (var record in records)
        {
            memory.Add(record);
        }

        Console.WriteLine($"memory: {count:N0} records added in {watch.Elapsed.TotalSeconds:F1} s ({count / watch.Elapsed.TotalSeconds:N0}/s)");
        Measure("memory", memory, now);

        var folder = Directory.CreateTempSubdirectory("llm-apm-aggregates-").FullName;
        try
        {
            var path = keep ?? Path.Combine(folder, "history.db");
            watch.Restart();
            await using (var writing = Open(path))
            {
                foreach (var chunk in records.Chunk(5_000))
                {
                    foreach (var record in chunk)
                    {
                        writing.Add(record);
                    }

                    await writing.FlushAsync(TimeSpan.FromMinutes(1)).ConfigureAwait(false);
                }
            }

            Console.WriteLine($"sqlite: {count:N0} records written in {watch.Elapsed.TotalSeconds:F1} s, file {new FileInfo(path).Length / 1_048_576.0:F0} MiB");
            watch.Restart();
            await using var store = Open(path);
            var opened = watch.Elapsed;
            _ = store.Aggregate(new LlmHistoryAggregateQuery { From = now.AddMinutes(-1), To = now, Bucket = TimeSpan.FromMinutes(1) });
            Console.WriteLine($"sqlite: reopened in {opened.TotalMilliseconds:F0} ms; rollups loaded from the file {watch.Elapsed.TotalSeconds:F1} s after (once, off the start-up path)");
            Measure("sqlite", store, now);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }

        return 0;
    }

    private static void Measure(string name, ILlmHistoryStore store, DateTimeOffset now)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var summary = new List<double>(Runs);
        var series = new List<double>(Runs);
        long counted = 0;

        // CPU time too: on a busy machine the wall-clock figure is mostly waiting for a core.
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < Runs; i++)
        {
            var watch = Stopwatch.StartNew();
            var from = LlmHistoryAnalytics.AlignDown(now.AddHours(-24), TimeSpan.FromMinutes(1));
            var figures = LlmHistoryAnalytics.SummarizeCells(
                store.Aggregate(new LlmHistoryAggregateQuery { From = from, To = now, Bucket = now - from }), from, now);
            summary.Add(watch.Elapsed.TotalMilliseconds);
            counted = figures.Count;

            watch.Restart();
            var bucket = TimeSpan.FromMinutes(30);
            var to = new DateTimeOffset(((now.UtcTicks / bucket.Ticks) + 1) * bucket.Ticks, TimeSpan.Zero);
            _ = LlmHistoryAnalytics.TimeSeriesOfCells(
                store.Aggregate(new LlmHistoryAggregateQuery { From = to.AddHours(-24), To = to, Bucket = bucket }), to.AddHours(-24), to, bucket);
            series.Add(watch.Elapsed.TotalMilliseconds);
        }

        var cpuPerRun = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / Runs;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        summary.Sort();
        series.Sort();
        Console.WriteLine(
            $"{name}: summary 24h over {counted:N0} requests: median {summary[Runs / 2]:F2} ms, worst {summary[^1]:F2} ms; "
            + $"timeseries 24h: median {series[Runs / 2]:F2} ms, worst {series[^1]:F2} ms; "
            + $"CPU {cpuPerRun:F2} ms per summary + series (all threads); heap {before / 1_048_576.0:F1} MiB before {Runs} runs of both, {after / 1_048_576.0:F1} MiB after");
    }

    private static SqliteLlmHistoryStore Open(string path)
    {
        var store = new SqliteLlmHistoryStore(
            Options.Create(new SqliteHistoryOptions { Path = path, FlushInterval = TimeSpan.FromMilliseconds(20) }),
            Options.Create(new LlmApmOptions { HistoryCapacity = 10_000 }));
        store.Open();
        return store;
    }

    /// <summary>Records as the sample makes them: two models, one route, two replicas, 5% errors, 4 steps.</summary>
    private static LlmRequestRecord[] Generate(int count, DateTimeOffset now)
    {
        var random = new Random(13);
        var records = new LlmRequestRecord[count];
        LlmStepRecord[] steps =
        [
            new("preprocessing", 0, 1, "ok", null, 0),
            new("retrieval", 1, 5, "ok", null, 0),
            new("llm_api_call", 6, 300, "ok", null, 0),
            new("postprocessing", 306, 1, "ok", null, 0),
        ];

        // Oldest first, as a service adds them.
        for (var i = 0; i < count; i++)
        {
            var error = random.Next(20) == 0;
            records[i] = new LlmRequestRecord
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

        return records;
    }
}
