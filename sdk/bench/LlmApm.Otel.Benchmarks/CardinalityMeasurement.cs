// RESULTS (pasted from the last run; see docs/benchmarks.md)
// Last run: 2026-11-26 23:32 UTC, AMD EPYC (2 cores, VM), .NET 10.0.12, 1-minute load average 0.92; the SDK at 7141e7d.
// Command: dotnet run -c Release --project sdk/bench/LlmApm.Otel.Benchmarks -- cardinality
//
// distinct models (route /api/chat):
//   attempted   llm_* series   all series   scrape bytes   scrape ms (median of 5)   managed heap MB
//           0              1            2            449                       0.5               5.2
//      10,000            115          116         17,092                       0.3              20.8
//      20,000            115          116         17,094                       0.3              17.9
//      30,000            115          116         17,093                       0.3              21.4
//      40,000            115          116         17,092                       0.3              16.0
//      50,000            115          116         17,093                       0.3              26.7
//      60,000            115          116         17,094                       0.4              34.0
//      70,000            115          116         17,091                       0.2              18.3
//      80,000            115          116         17,091                       0.3              25.3
//      90,000            115          116         17,094                       0.2              18.4
//     100,000            115          116         17,175                       0.4              23.1
// distinct routes (model gpt-4o-mini):
//   attempted   llm_* series   all series   scrape bytes   scrape ms (median of 5)   managed heap MB
//           0            115          116         17,175                       0.3              23.3
//      10,000          9,915        9,916      1,469,159                       9.8              31.8
//      20,000          9,915        9,916      1,469,248                       7.9              52.4
//      30,000          9,915        9,916      1,469,246                       7.2              49.2
//      40,000          9,915        9,916      1,469,247                       7.4              58.7
//      50,000          9,915        9,916      1,469,248                       7.5              83.5
//      60,000          9,915        9,916      1,469,248                       7.7             104.9
//      70,000          9,915        9,916      1,469,246                       6.2              26.1
//      80,000          9,915        9,916      1,469,247                       6.3              50.9
//      90,000          9,915        9,916      1,469,246                       6.7              56.6
//     100,000          9,915        9,916      1,469,244                       7.3              51.0

using System.Diagnostics;
using System.Globalization;
using LlmApm.Otel.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace LlmApm.Otel.Benchmarks;

/// <summary>
/// Target 5, not a BenchmarkDotNet benchmark: 100,000 distinct model names, then 100,000 distinct routes, are
/// attempted through the SDK's public API (<c>StartRequest(route)</c>, <c>RecordUsage(model, ...)</c>, four steps),
/// and a real <c>/metrics</c> (OpenTelemetry's Prometheus exporter on Kestrel, 127.0.0.1, response cache off) is
/// scraped every 10,000 requests: the number of series (sample lines) and the median time of five scrapes.
/// A route is a host-supplied value: the ASP.NET Core package passes route templates, so distinct routes can only
/// come from a host calling <c>StartRequest</c> with raw values (a path, a queue name with an id ...), which is what
/// this attempts.
/// </summary>
internal static class CardinalityMeasurement
{
    public static async Task<int> RunAsync(string[] args)
    {
        var total = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddLlmApm(o => o.HistoryCapacity = 10_000);
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        await using var app = builder.Build();
        app.MapPrometheusScrapingEndpoint();
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        var apm = app.Services.GetRequiredService<LlmApmInstrumentation>();

        await Measure("distinct models (route /api/chat)", total, http, i => Request(apm, "/api/chat", "model-" + i.ToString(CultureInfo.InvariantCulture))).ConfigureAwait(false);
        await Measure("distinct routes (model gpt-4o-mini)", total, http, i => Request(apm, "/api/items/" + i.ToString(CultureInfo.InvariantCulture), FakeChatClient.DefaultModel)).ConfigureAwait(false);
        await app.StopAsync().ConfigureAwait(false);
        return 0;
    }

    private static void Request(LlmApmInstrumentation apm, string route, string model)
    {
        using var request = apm.StartRequest(route);
        using (LlmStep.Start("preprocessing"))
        {
        }

        using (LlmStep.Start("llm_api_call"))
        {
            request.RecordUsage(model, new LlmUsage(100, 20));
        }

        using (LlmStep.Start("response_parsing"))
        {
        }

        using (LlmStep.Start("saving"))
        {
        }
    }

    private static async Task Measure(string title, int total, HttpClient http, Action<int> attempt)
    {
        Console.WriteLine(title + ":");
        Console.WriteLine("  attempted   llm_* series   all series   scrape bytes   scrape ms (median of 5)   managed heap MB");
        var step = total / 10;
        for (var done = 0; done <= total; done += step)
        {
            if (done > 0)
            {
                for (var i = done - step; i < done; i++)
                {
                    attempt(i);
                }
            }

            var (series, llmSeries, bytes, ms) = await Scrape(http).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {done,9:N0}   {llmSeries,12:N0}   {series,10:N0}   {bytes,12:N0}   {ms,23:F1}   {GC.GetTotalMemory(false) / 1048576.0,15:F1}"));
        }
    }

    private static async Task<(int Series, int LlmSeries, int Bytes, double Ms)> Scrape(HttpClient http)
    {
        var times = new double[5];
        string body = string.Empty;
        for (var i = 0; i < times.Length; i++)
        {
            var watch = Stopwatch.StartNew();
            body = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)).ConfigureAwait(false);
            times[i] = watch.Elapsed.TotalMilliseconds;
        }

        Array.Sort(times);
        var series = 0;
        var llm = 0;
        foreach (var line in body.AsSpan().EnumerateLines())
        {
            if (line.IsEmpty || line[0] == '#')
            {
                continue;
            }

            series++;
            if (line.StartsWith("llm_", StringComparison.Ordinal))
            {
                llm++;
            }
        }

        return (series, llm, body.Length, times[2]);
    }
}
