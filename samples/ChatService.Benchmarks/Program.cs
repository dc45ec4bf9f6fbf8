using BenchmarkDotNet.Running;

namespace ChatService.Benchmarks;

/// <summary>The entry point: not top-level statements, whose <c>Program</c> would hide the service's own.</summary>
internal static class BenchmarkEntry
{
    // dotnet run -c Release --project samples/ChatService.Benchmarks -- --filter '*' --job short --inProcess
    // (in process: BenchmarkDotNet's own build of the generated project would also build the dashboard)
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(WorstBodyBenchmarks).Assembly).Run(args);
}
