using BenchmarkDotNet.Running;

namespace ChatService.Benchmarks;

/// <summary>The entry point: not top-level statements, whose <c>Program</c> would hide the service's own.</summary>
internal static class BenchmarkEntry
{
    // dotnet run -c Release --project samples/ChatService.Benchmarks -- --filter '*' --job short
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(WorstBodyBenchmarks).Assembly).Run(args);
}
