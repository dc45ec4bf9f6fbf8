// Soak run of the chat service: the Release build as a child process on loopback, the simulated provider at low latency
// with 5% injected faults, mixed traffic (chat and stream, new and continued conversations) for --duration, then checks:
// nothing lost (sent = llm_requests_total = history), error rates = injected rates (binomial, 4 sigma), memory flat once the
// history ring is full, nothing left active or queued. Prints "soak: N passed, M failed".
//
//   dotnet run --project samples/ChatService.Soak -c Release                      # 3 minutes
//   dotnet run --project samples/ChatService.Soak -c Release -- --duration 45     # or SOAK_DURATION=45
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using ChatService.Soak;

var options = SoakOptions.Parse(args);
var data = Path.Combine(Path.GetTempPath(), $"llm-apm-soak-{Guid.NewGuid():N}");
Directory.CreateDirectory(data);
var settings = new Dictionary<string, string>
{
    ["ChatService:DataPath"] = data,
    ["ChatService:RuntimeMetrics"] = "true",
    ["ChatService:RateLimit:PermitLimit"] = "100000000",
    ["LlmApm:HistoryCapacity"] = SoakOptions.HistoryCapacity.ToString(CultureInfo.InvariantCulture),
    ["Llm:Simulated:TimeToFirstTokenMs"] = "5",
    ["Llm:Simulated:PerTokenMs"] = "0",
    ["Llm:MaxRetries"] = "0", // one provider call per request: the error counts are the injected faults
    ["Logging:LogLevel:Default"] = "Warning",
    ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
    ["Logging:LogLevel:ChatService.Errors"] = "Error",
};
foreach (var (type, rate) in SoakOptions.Faults)
{
    settings[$"Llm:Simulated:Faults:{type}"] = rate.ToString(CultureInfo.InvariantCulture);
}

Console.WriteLine($"soak: {options.Service}, {options.Duration.TotalSeconds:0} s, {options.Concurrency} clients, {Environment.ProcessorCount} cores, faults {string.Join(", ", SoakOptions.Faults.Select(f => $"{f.Key}={f.Value}"))}");
var checks = new List<(string Name, bool Ok, string Figures)>();
void Check(string name, bool ok, string figures)
{
    checks.Add((name, ok, figures));
    Console.WriteLine($"  {(ok ? "ok  " : "FAIL")} {name}: {figures}");
}

try
{
    using var service = await ServiceProcess.StartAsync(options.Service, settings);
    using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Concurrency * 2 })
    {
        BaseAddress = service.BaseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };

    long sent = 0, ok = 0, failed = 0, clientErrors = 0;
    var conversations = new ConcurrentQueue<string>();
    var samples = new List<(double At, long Rss, double? Queue, double? Threads, long Sent)>();
    var clock = Stopwatch.StartNew();
    using var stop = new CancellationTokenSource(options.Duration);

    async Task WorkerAsync(int worker)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var stream = (worker + i) % 2 == 0;
            string? conversation = i % 3 == 0 && conversations.TryDequeue(out var id) ? id : null;
            Interlocked.Increment(ref sent);
            try
            {
                using var response = await client.PostAsJsonAsync(stream ? "/api/chat/stream" : "/api/chat", new { message = $"soak question {i % 50} from client {worker}", conversationId = conversation });
                var body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode || body.Contains("event: error", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref failed);
                    continue;
                }

                Interlocked.Increment(ref ok);
                if (!stream && conversations.Count < 200)
                {
                    conversations.Enqueue(JsonDocument.Parse(body).RootElement.GetProperty("conversationId").GetString()!);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
            {
                Interlocked.Increment(ref clientErrors);
                Console.WriteLine($"  client error: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    async Task SampleAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2), stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var metrics = new Metrics(await client.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
            samples.Add((clock.Elapsed.TotalSeconds, service.ResidentBytes(), metrics.First("dotnet_thread_pool_queue_length"), metrics.First("dotnet_thread_pool_thread_count"), Interlocked.Read(ref sent)));
        }
    }

    var sampler = SampleAsync();
    await Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(WorkerAsync));
    await sampler;
    var elapsed = clock.Elapsed.TotalSeconds;

    // Let the last records reach the history and the database (flush interval 1 s).
    await Task.Delay(TimeSpan.FromSeconds(2.5));
    var final = new Metrics(await client.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
    var summary = await client.GetFromJsonAsync<JsonElement>(new Uri("/llm-apm/api/summary?window=1h", UriKind.Relative));
    var total = final.Sum("llm_requests_total");
    var history = summary.GetProperty("count").GetInt64();
    Console.WriteLine($"  traffic: {sent} requests in {elapsed:0} s ({sent / elapsed:0} /s), {ok} ok, {failed} failed, {clientErrors} client errors");

    Check("no client errors", clientErrors == 0, $"{clientErrors}");
    Check("sent = llm_requests_total = history records", sent == (long)total && total == history, $"sent {sent}, llm_requests_total {total}, history {history}");
    Check("llm_requests_active back to 0", final.Sum("llm_requests_active") == 0, $"{final.Sum("llm_requests_active")}");
    Check("no history record dropped", final.Sum("llm_history_dropped_total") == 0, $"llm_history_dropped_total {final.Sum("llm_history_dropped_total")}");

    // Error rates: each type's count ~ Binomial(N, p); within 4 standard deviations.
    foreach (var (type, rate) in SoakOptions.Faults)
    {
        var observed = final.Sum("llm_errors_total", ("error_type", type));
        var expected = total * rate;
        var sigma = Math.Sqrt(total * rate * (1 - rate));
        Check($"{type} rate", Math.Abs(observed - expected) <= 4 * sigma, $"{observed} of {total} ({observed / total:P2}), injected {rate:P2}, expected {expected:0.0} ± {4 * sigma:0.0}");
    }

    var injected = SoakOptions.Faults.Values.Sum();
    var errors = final.Sum("llm_requests_total", ("status", "error"));
    var allSigma = Math.Sqrt(total * injected * (1 - injected));
    Check("error rate", Math.Abs(errors - (total * injected)) <= 4 * allSigma && errors == failed, $"{errors} of {total} ({errors / total:P2}), client saw {failed}, injected {injected:P2} ± {4 * allSigma / total:P2}");

    // Memory: the last third of the run against the middle third, once the history ring is full.
    var third = elapsed / 3;
    var middle = samples.Where(s => s.At >= third && s.At < 2 * third).ToList();
    var last = samples.Where(s => s.At >= 2 * third).ToList();
    var ringFull = samples.FirstOrDefault(s => s.Sent >= SoakOptions.HistoryCapacity).At;
    if (middle.Count > 0 && last.Count > 0)
    {
        var middleRss = middle.Average(s => s.Rss) / 1048576;
        var lastRss = last.Average(s => s.Rss) / 1048576;
        Check(
            "memory flat (last third within 15% of the middle third)",
            ringFull > 0 && ringFull < third && Math.Abs(lastRss - middleRss) <= 0.15 * middleRss,
            $"RSS middle {middleRss:0.0} MiB, last {lastRss:0.0} MiB ({(lastRss - middleRss) / middleRss:+0.0%;-0.0%}), max {samples.Max(s => s.Rss) / 1048576.0:0.0} MiB; ring of {SoakOptions.HistoryCapacity} full at {ringFull:0} s");
    }
    else
    {
        Check("memory flat", false, $"too few samples ({samples.Count})");
    }

    // The thread pool: reported, not judged by timing. Work items left queued after the traffic would be starvation.
    var queues = samples.Select(s => s.Queue ?? 0).Order().ToList();
    var threads = samples.Select(s => s.Threads ?? 0).ToList();
    Console.WriteLine($"  thread pool: queue length median {(queues.Count > 0 ? queues[queues.Count / 2] : 0)}, max {(queues.Count > 0 ? queues[^1] : 0)}; threads min {(threads.Count > 0 ? threads.Min() : 0)}, max {(threads.Count > 0 ? threads.Max() : 0)}");
    var queuedAfter = final.First("dotnet_thread_pool_queue_length");
    Check("thread-pool queue empty after the traffic", queuedAfter is 0, $"{queuedAfter?.ToString(CultureInfo.InvariantCulture) ?? "not exposed"}");
}
catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or FileNotFoundException)
{
    Check("run", false, ex.Message);
}
finally
{
    try
    {
        Directory.Delete(data, recursive: true);
    }
    catch (IOException)
    {
    }
}

var passed = checks.Count(c => c.Ok);
var failedChecks = checks.Count - passed;
Console.WriteLine($"soak: {passed} passed, {failedChecks} failed");
return failedChecks == 0 ? 0 : 1;
