// RESULTS (pasted from the last run; see docs/benchmarks.md)
// Last run: 2026-11-26 23:32 UTC, AMD EPYC (2 cores, VM), .NET 10.0.12, 1-minute load average 0.92; the SDK at 7141e7d.
// Command: dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- history
//
// GC: server=False, latency mode=Interactive
// no history (store keeps nothing): 100,000 requests, no induced collection: gen0 23, gen1 0, gen2 0
// history ring of 10,000: 100,000 requests, no induced collection: gen0 23, gen1 0, gen2 0
// heap after a full collection, ring 10,000:
//   after  10,000 more requests: 11,125,256 bytes
//   after  20,000 more requests: 11,125,256 bytes
//   after  30,000 more requests: 11,125,256 bytes
//   after  40,000 more requests: 11,125,256 bytes
//   after  50,000 more requests: 11,125,256 bytes
//   after  60,000 more requests: 11,125,256 bytes
//   after  70,000 more requests: 11,125,256 bytes
//   after  80,000 more requests: 11,125,256 bytes
//   after  90,000 more requests: 11,125,256 bytes
//   after 100,000 more requests: 11,125,256 bytes
// retained: 37,609,600 bytes for 102,000 requests = 368.7 bytes/request (ring holds 102,000 added, capacity 102,000, 0 kept as objects; a slot and its steps: 344 bytes)
//
// Before fac2854 (records kept as objects): gen1 9 and gen2 3 with the ring against 0 and 0 without it; 472 bytes
// retained per request.

using System.Globalization;
using LlmApm.Otel.History;
using LlmApm.Otel.Testing;

namespace LlmApm.Otel.Benchmarks;

/// <summary>
/// Target 4, not a BenchmarkDotNet benchmark (it measures retained memory, not time):
/// <list type="number">
/// <item>retained bytes per finished 4-step request, prompt text off: the heap after a full collection, before and
/// after 100,000 requests into a ring large enough to keep them all, divided by 100,000;</item>
/// <item>memory flat once the ring (10,000, the default) is full: the heap after a full collection every 10,000
/// requests up to 100,000;</item>
/// <item>no gen-2 collection in a run of 100,000 requests into the full default ring (no collection is induced
/// during that run).</item>
/// </list>
/// </summary>
internal static class HistoryMeasurement
{
    private const int Requests = 100_000;
    private const int Warmup = 2_000;

    public static int Run(string[] args)
    {
        var requests = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : Requests;
        Console.WriteLine($"GC: server={System.Runtime.GCSettings.IsServerGC}, latency mode={System.Runtime.GCSettings.LatencyMode}");

        // Warm the code up (tiered compilation) before anything is timed.
        using (var warm = new BenchHost(store: new BenchHost.DiscardingHistoryStore()))
        {
            RunRequests(warm, 50_000);
        }

        GC.Collect();

        // 2 and 3 first (a fresh heap). Collections during a run without the history (a store that keeps nothing: the
        // control) and with the default ring, then the heap at checkpoints.
        using (var control = new BenchHost(o => o.HistoryCapacity = 10_000, store: new BenchHost.DiscardingHistoryStore()))
        {
            CountCollections(control, requests, "no history (store keeps nothing)");
        }

        GC.Collect();
        using (var host = new BenchHost(o => o.HistoryCapacity = 10_000))
        {
            CountCollections(host, requests, "history ring of 10,000");

            Console.WriteLine("heap after a full collection, ring 10,000:");
            for (var i = 1; i <= 10; i++)
            {
                RunRequests(host, requests / 10);
                Console.WriteLine($"  after {i * requests / 10,7:N0} more requests: {GC.GetTotalMemory(forceFullCollection: true):N0} bytes");
            }
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // 1. Retained per request: the heap of a host whose ring keeps every request, less the heap of the same host
        // whose store keeps nothing, after the same requests. The ring allocates its slots as it fills, so they count.
        var kept = requests + Warmup;
        var withoutRing = HeapAfter(new BenchHost(o => o.HistoryCapacity = kept, store: new BenchHost.DiscardingHistoryStore()), kept, out _);
        var withRing = HeapAfter(new BenchHost(o => o.HistoryCapacity = kept), kept, out var store);
        Console.WriteLine($"retained: {withRing - withoutRing:N0} bytes for {kept:N0} requests = {(withRing - withoutRing) / (double)kept:F1} bytes/request (ring holds {store!.TotalAdded:N0} added, capacity {store.Capacity:N0}, {store.CountKeptAsObjects():N0} kept as objects; a slot and its steps: {InMemoryLlmHistoryStore.BytesPerRecord} bytes)");

        return 0;
    }

    private static long HeapAfter(BenchHost host, int requests, out InMemoryLlmHistoryStore? store)
    {
        using (host)
        {
            RunRequests(host, requests);
            var heap = GC.GetTotalMemory(forceFullCollection: true);
            store = host.Instrumentation.History as InMemoryLlmHistoryStore;
            GC.KeepAlive(host);
            return heap;
        }
    }

    private static void CountCollections(BenchHost host, int requests, string title)
    {
        RunRequests(host, Warmup + 10_000);
        GC.Collect();
        var gen0 = GC.CollectionCount(0);
        var gen1 = GC.CollectionCount(1);
        var gen2 = GC.CollectionCount(2);
        RunRequests(host, requests);
        Console.WriteLine($"{title}: {requests:N0} requests, no induced collection: gen0 {GC.CollectionCount(0) - gen0}, gen1 {GC.CollectionCount(1) - gen1}, gen2 {GC.CollectionCount(2) - gen2}");
    }

    /// <summary>A request as the chat service makes it: four steps and one LLM call's usage, prompt text off.</summary>
    private static void RunRequests(BenchHost host, int count)
    {
        var usage = new LlmUsage(1200, 350);
        for (var i = 0; i < count; i++)
        {
            using var request = host.Instrumentation.StartRequest("/api/chat");
            using (LlmStep.Start("preprocessing"))
            {
            }

            using (LlmStep.Start("llm_api_call"))
            {
                request.RecordUsage(FakeChatClient.DefaultModel, usage);
            }

            using (LlmStep.Start("response_parsing"))
            {
            }

            using (LlmStep.Start("saving"))
            {
            }
        }
    }
}
