using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using LlmApm.Otel.Benchmarks;

// dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- --filter '*'     BenchmarkDotNet (targets 1-3)
// dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- request-cpu [rounds]  target 1's request, by CPU time
// dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- history           target 4
// dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- cardinality       target 5
// dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- aggregates        issue 13: 24-hour summary and series
// dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- aggregates-postgresql   the same on PostgreSQL
switch (args.FirstOrDefault())
{
    case "request-cpu":
        return RequestCpuMeasurement.Run(args.Skip(1).ToArray());
    case "history":
        return HistoryMeasurement.Run(args.Skip(1).ToArray());
    case "aggregates":
        return await AggregateMeasurement.RunAsync(args.Skip(1).ToArray()).ConfigureAwait(false);
    case "aggregates-postgresql":
        return await PostgreSqlAggregateMeasurement.RunAsync(args.Skip(1).ToArray()).ConfigureAwait(false);
    case "cardinality":
        return await CardinalityMeasurement.RunAsync(args.Skip(1).ToArray()).ConfigureAwait(false);
    default:
        // Short enough for the whole suite to finish in a few minutes on two cores: one launch, 5 warm-ups,
        // 15 measured iterations; the memory diagnoser on; ratios against each class's (category's) baseline.
        var config = DefaultConfig.Instance
            .AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(5).WithIterationCount(15).WithId("Bench"))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumn(StatisticColumn.P95)
            .HideColumns(Column.Error, Column.RatioSD)
            .WithArtifactsPath(Path.Combine(RepositoryRoot(), "artifacts", "benchmarks"));
        BenchmarkSwitcher.FromAssembly(typeof(BenchHost).Assembly).Run(args, config);
        return 0;
}

// The repository root (where the solution is), so that results land in artifacts/benchmarks wherever it runs from.
static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "LlmApm.Otel.sln")))
        {
            return dir.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}
