using System.Net;
using LlmApm.Otel.History;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>LLM-APM in ASP.NET Core hosts: its spans reach the host's exporter and its history fills; a host with its
/// own Prometheus exporter and scrape endpoint ends with one /metrics; invalid endpoint options fail at start.</summary>
[Collection(ProcessWideTelemetry.Name)]
public class LlmApmAspNetCoreHostsTests
{
    [Fact]
    public async Task AddLlmApm_WebApplication_SpansReachHostExporterAndHistoryFills()
    {
        await using var app = await TestApp.StartAsync(map: a => a.MapGet("/work", (LlmApmInstrumentation apm) =>
        {
            using var request = apm.StartRequest("work");
            using (LlmStep.Start("step"))
            {
            }

            return "done";
        }));

        using var response = await app.Client.SendAsync(TestApp.Get("/work"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = Assert.Single(await app.WaitForHistoryAsync(1));
        var span = Assert.Single(app.RequestSpans());
        Assert.Equal(span.TraceId.ToHexString(), record.TraceId);
        Assert.Equal(["step"], record.Steps.Select(s => s.Name));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MapLlmApm_HostMapsItsOwnPrometheusEndpoint_OneMetricsAnswers(bool hostMapsFirst)
    {
        await using var app = await TestApp.StartAsync(
            configure: b => b.Services.AddOpenTelemetry().WithMetrics(m => m.AddPrometheusExporter()),
            map: a =>
            {
                if (hostMapsFirst)
                {
                    a.MapPrometheusScrapingEndpoint();
                    a.MapLlmApm();
                }
                else
                {
                    a.MapLlmApm();
                    a.MapPrometheusScrapingEndpoint();
                }
            },
            mapLlmApm: false);

        app.Instrumentation.StartRequest("scraped").Dispose();
        using var response = await app.Client.SendAsync(TestApp.Get("/metrics"));
        var body = await response.Content.ReadAsStringAsync();

        // Two endpoints on one path of the same order would be an ambiguous match (500).
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("route=\"scraped\"", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("LlmApm:Dashboard:MetricsPath", "metrics")]
    [InlineData("LlmApm:Dashboard:ChatEndpoint", "api/chat")]
    [InlineData("LlmApm:Dashboard:ChatStreamEndpoint", "//evil.example/chat")]
    [InlineData("LlmApm:Dashboard:MaxStreamConnectionsPerClient", "0")]
    [InlineData("LlmApm:Dashboard:MaxStreamConnections", "-1")]
    [InlineData("LlmApm:Dashboard:StreamKeepAliveInterval", "00:00:00")]
    [InlineData("LlmApm:Dashboard:StreamWriteTimeout", "-00:00:01")]
    [InlineData("LlmApm:Dashboard:AccessKey", " ")]
    public async Task AddLlmApmEndpoints_InvalidOption_FailsAtStartNamingTheKey(string key, string value)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            configure: b => b.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value })));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }
}
