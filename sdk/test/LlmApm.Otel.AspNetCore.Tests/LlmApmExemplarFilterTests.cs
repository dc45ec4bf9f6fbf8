using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using LlmApm.Otel.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>Exemplars from a scraped metric to the request: AddLlmApm() turns on trace-based exemplars unless the host
/// chose a filter, and the OpenMetrics scrape names the trace of the request in the history.</summary>
[Collection(ProcessWideTelemetry.Name)]
public partial class LlmApmExemplarFilterTests
{
    private const string OpenMetrics = "application/openmetrics-text; version=1.0.0";

    [Fact]
    public async Task ConfigureBuilder_OpenMetricsScrape_LatencyCostAndOperationDurationNameTheRequestTrace()
    {
        await using var app = await StartAsync();
        await ChatAsync(app);
        var record = Assert.Single(await app.WaitForHistoryAsync(1));

        var exposition = await ScrapeAsync(app, OpenMetrics);

        foreach (var series in new[] { "llm_request_latency_seconds_bucket", "llm_cost_usd_total", "gen_ai_client_operation_duration_seconds_bucket" })
        {
            var traces = ExemplarTraceIds(exposition, series);
            Assert.True(traces.Contains(record.TraceId), $"No exemplar of {series} names the request's trace {record.TraceId}:\n{exposition}");
        }
    }

    [Fact]
    public async Task ConfigureBuilder_PrometheusTextScrape_NoExemplars()
    {
        await using var app = await StartAsync();
        await ChatAsync(app);
        await app.WaitForHistoryAsync(1);

        // The classic text format has no exemplars: a scraper that did not ask for OpenMetrics gets none.
        var exposition = await ScrapeAsync(app, "text/plain; version=0.0.4");
        Assert.Contains("llm_request_latency_seconds_bucket{", exposition, StringComparison.Ordinal);
        Assert.DoesNotContain("trace_id=", exposition, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureBuilder_HostSetsItsOwnFilter_HostChoiceWins()
    {
        await using var app = await StartAsync(b => b.Services.AddOpenTelemetry().WithMetrics(m => m.SetExemplarFilter(ExemplarFilterType.AlwaysOff)));
        await ChatAsync(app);
        await app.WaitForHistoryAsync(1);

        var exposition = await ScrapeAsync(app, OpenMetrics);
        Assert.Contains("llm_request_latency_seconds_bucket{", exposition, StringComparison.Ordinal);
        Assert.DoesNotContain("trace_id=", exposition, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigureBuilder_FilterInConfiguration_LeftToTheSdk()
    {
        await using var app = await StartAsync(b => b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [LlmApmExemplarFilter.FilterKey] = "always_off",
        }));
        await ChatAsync(app);
        await app.WaitForHistoryAsync(1);

        var exposition = await ScrapeAsync(app, OpenMetrics);
        Assert.Contains("llm_cost_usd_total{", exposition, StringComparison.Ordinal);
        Assert.DoesNotContain("trace_id=", exposition, StringComparison.Ordinal);
    }

    private static Task<TestApp> StartAsync(Action<WebApplicationBuilder>? configure = null)
        => TestApp.StartAsync(
            map: a => a.MapPost("/api/chat", async (IServiceProvider services) =>
            {
                using var client = new ChatClientBuilder(new FakeChatClient()).UseLlmApm().Build(services);
                var response = await client.GetResponseAsync("hello");
                return response.Text;
            }).WithLlmApm(),
            configure: configure);

    private static async Task ChatAsync(TestApp app)
    {
        using var response = await app.Client.PostAsync("/api/chat", null);
        response.EnsureSuccessStatusCode();
    }

    private static async Task<string> ScrapeAsync(TestApp app, string accept)
    {
        using var request = TestApp.Get("/metrics");
        request.Headers.Accept.Add(MediaTypeWithQualityHeaderValue.Parse(accept));
        using var response = await app.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The trace ids of the exemplars on the samples of <paramref name="series"/>.</summary>
    private static HashSet<string> ExemplarTraceIds(string exposition, string series)
        => exposition.Split('\n')
            .Where(line => line.StartsWith(series + "{", StringComparison.Ordinal) || line.StartsWith(series + " ", StringComparison.Ordinal))
            .Select(line => ExemplarTraceId().Match(line))
            .Where(match => match.Success)
            .Select(match => match.Groups[1].Value)
            .ToHashSet();

    [GeneratedRegex(" # \\{[^}]*trace_id=\"([0-9a-f]{32})\"")]
    private static partial Regex ExemplarTraceId();
}
