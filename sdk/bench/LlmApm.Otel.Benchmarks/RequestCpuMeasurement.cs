using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LlmApm.Otel.Benchmarks;

/// <summary>
/// Target 1's request with four steps against raw spans, by the thread's CPU time: batches of each alternate in one
/// process, so that both sides share the JIT's code, the heap and the machine's load of the same seconds, which
/// BenchmarkDotNet's one process per benchmark does not (its ratio moved 2.5x to 4.9x between launches of the same
/// code here). Reports the median of the rounds' ratios and the bytes one request allocates.
/// </summary>
internal static class RequestCpuMeasurement
{
    private const int Batch = 5_000;

    public static int Run(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 60;
        var benchmarks = new StepBenchmarks();
        benchmarks.Setup();
        try
        {
            for (var i = 0; i < 60_000; i++)
            {
                benchmarks.Request();
                benchmarks.RawRequest();
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < Batch; i++)
            {
                benchmarks.Request();
            }

            var bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Batch;
            var ratios = new List<double>(rounds);
            double raw = 0, request = 0;
            for (var round = 0; round < rounds; round++)
            {
                var t0 = CpuNanoseconds();
                for (var i = 0; i < Batch; i++)
                {
                    benchmarks.RawRequest();
                }

                var t1 = CpuNanoseconds();
                for (var i = 0; i < Batch; i++)
                {
                    benchmarks.Request();
                }

                var t2 = CpuNanoseconds();
                raw = (t1 - t0) / (double)Batch;
                request = (t2 - t1) / (double)Batch;
                ratios.Add(request / raw);
            }

            ratios.Sort();
            Console.WriteLine($"request + 4 steps: median {ratios[rounds / 2]:F3}x of raw spans (quartiles {ratios[rounds / 4]:F3}-{ratios[3 * rounds / 4]:F3}, {rounds} rounds of {Batch}), last round {request:F0} ns against {raw:F0} ns, {bytes:F0} B per request ({Clock})");
            return 0;
        }
        finally
        {
            benchmarks.Cleanup();
        }
    }

    private static string Clock => OperatingSystem.IsLinux() ? "thread CPU time" : "wall clock";

    // The thread's CPU time on Linux, so that time descheduled by other work does not count; elsewhere the wall clock.
    private static long CpuNanoseconds()
    {
        if (OperatingSystem.IsLinux() && NativeMethods.clock_gettime(3, out var time) == 0)
        {
            return (time.Seconds * 1_000_000_000L) + time.Nanoseconds;
        }

        return (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    private static class NativeMethods
    {
        // CLOCK_THREAD_CPUTIME_ID is 3 on Linux. DllImport, not LibraryImport: the signature is blittable and the project
        // does not allow unsafe code.
        [DllImport("libc", EntryPoint = "clock_gettime")]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        internal static extern int clock_gettime(int clock, out Timespec time);
    }
}
