using System.Diagnostics;
using System.Net;
using LlmApm.Otel.AspNetCore;
using LlmApm.Otel.History;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>
/// A minimal host on TestServer, built inside each test: LLM-APM with its endpoints, tracing to an in-memory list,
/// the Prometheus exporter, and a test middleware that sets the client address from the <c>X-Test-Remote-Ip</c>
/// header (<c>none</c> leaves it null, as TestServer does).
/// </summary>
internal sealed class TestApp : IAsyncDisposable
{
    public const string RemoteIpHeader = "X-Test-Remote-Ip";
    public const string NonLoopback = "203.0.113.7";

    private readonly List<Activity> spans;

    private TestApp(WebApplication app, List<Activity> spans)
    {
        this.App = app;
        this.spans = spans;
        this.Client = app.GetTestClient();
        this.Client.DefaultRequestHeaders.Add(RemoteIpHeader, "127.0.0.1");
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public TestServer Server => this.App.GetTestServer();

    public LlmApmInstrumentation Instrumentation => this.App.Services.GetRequiredService<LlmApmInstrumentation>();

    public static async Task<TestApp> StartAsync(
        Action<WebApplication>? map = null,
        Action<LlmApmEndpointOptions>? options = null,
        Action<WebApplicationBuilder>? configure = null,
        bool mapLlmApm = true)
    {
        var spans = new List<Activity>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddLlmApm();
        builder.Services.AddLlmApmEndpoints(options);
        builder.Services.Configure<PrometheusAspNetCoreOptions>(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
        builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing
            .AddSource("Microsoft.AspNetCore")
            .AddInMemoryExporter(spans));
        configure?.Invoke(builder);

        var app = builder.Build();
        app.Use((context, next) =>
        {
            var remote = context.Request.Headers[RemoteIpHeader].ToString();
            context.Connection.RemoteIpAddress = remote is "" or "none" ? null : IPAddress.Parse(remote);
            return next(context);
        });
        map?.Invoke(app);
        if (mapLlmApm)
        {
            app.MapLlmApm();
        }

        await app.StartAsync();
        return new TestApp(app, spans);
    }

    public IReadOnlyList<Activity> Spans()
    {
        lock (this.spans)
        {
            return [.. this.spans];
        }
    }

    public IReadOnlyList<Activity> RequestSpans()
        => this.Spans().Where(s => s.Source.Name == LlmApmTelemetry.SourceName && s.DisplayName.StartsWith("llm.request ", StringComparison.Ordinal)).ToList();

    /// <summary>Waits until the history holds <paramref name="count"/> records (the request span ends as the
    /// response completes, possibly a moment after the client saw the last byte).</summary>
    public async Task<IReadOnlyList<LlmRequestRecord>> WaitForHistoryAsync(int count)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var records = this.Instrumentation.History.Query(new LlmHistoryQuery { Limit = 500 });
            if (records.Count >= count || deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                return records;
            }

            await Task.Delay(20);
        }
    }

    public static HttpRequestMessage Get(string path, string? remoteIp = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (remoteIp is not null)
        {
            request.Headers.Remove(RemoteIpHeader);
            request.Headers.Add(RemoteIpHeader, remoteIp);
        }

        return request;
    }

    public async ValueTask DisposeAsync()
    {
        this.Client.Dispose();
        await this.App.StopAsync();
        await this.App.DisposeAsync();
    }
}
