using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LlmApm.Otel.History;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace LlmApm.Otel.Tests;

/// <summary>Spans of other sources inside a request's trace become steps of their own kind in its history record,
/// nested by their parentage, bounded per request.</summary>
public class LlmHistoryProcessorTests
{
    // Each test has its own source, so that parallel tests never see each other's spans.
    private const string DbSource = "LlmApm.Tests.Db";

    [Fact]
    public async Task OnEnd_HttpClientCallInsideAStep_KeepsAnHttpStepNestedUnderThatStep()
    {
        using var server = LoopbackServer.Start();
        using var host = TestHost.Start(build: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource("System.Net.Http")));
        using var client = new HttpClient();

        using (host.Instrumentation.StartRequest("/api/chat"))
        {
            using (LlmStep.Start("preprocessing"))
            {
            }

            using (LlmStep.Start("retrieval"))
            {
                using var response = await client.GetAsync(server.Url + "search?token=secret-value");
                response.EnsureSuccessStatusCode();
            }
        }

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery { Limit = 10 }));
        Assert.Equal(["preprocessing", "retrieval", "GET 127.0.0.1"], record.Steps.Select(s => s.Name));
        var retrieval = record.Steps[1];
        var http = record.Steps[2];
        Assert.Equal((LlmStepKinds.Step, 0), (retrieval.Kind, retrieval.Depth));
        Assert.Equal(("http", 1, "ok"), (http.Kind, http.Depth, http.Status));
        Assert.InRange(http.OffsetMs, retrieval.OffsetMs, retrieval.OffsetMs + retrieval.DurationMs);
        Assert.True(http.OffsetMs + http.DurationMs <= retrieval.OffsetMs + retrieval.DurationMs + 0.001);
        Assert.Equal(0, record.DroppedSteps);

        // The URL's path and query (ids, secrets) never reach the history.
        Assert.DoesNotContain(record.Steps, s => s.Name.Contains("secret", StringComparison.Ordinal) || s.Name.Contains("search", StringComparison.Ordinal));
    }

    [Fact]
    public void OnEnd_AgentFrameworkSpans_KeepTheirNestingAndKinds()
    {
        // The GenAI conventions' agent shapes: invoke_agent, and inside it a tool and another source's HTTP-like call.
        const string agents = "LlmApm.Tests.Agents";
        using var source = new ActivitySource(agents);
        using var host = TestHost.Start(
            configure: o => o.StepSources[agents] = "agent",
            build: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource(agents)));

        using (host.Instrumentation.StartRequest("/api/agent"))
        {
            using (var create = source.StartActivity("create_agent Planner", ActivityKind.Client))
            {
                create?.SetTag("gen_ai.operation.name", "create_agent");
            }

            using var invoke = source.StartActivity("invoke_agent Planner", ActivityKind.Client);
            invoke?.SetTag("gen_ai.operation.name", "invoke_agent");
            invoke?.SetTag("gen_ai.agent.name", "Planner");
            using (LlmStep.Start("llm_api_call"))
            {
            }

            using (var execute = source.StartActivity("execute_tool get_time", ActivityKind.Internal))
            {
                execute?.SetTag("gen_ai.operation.name", "execute_tool");
                execute?.SetTag("gen_ai.tool.name", "get_time");
                execute?.SetStatus(ActivityStatusCode.Error, "boom");
                execute?.SetTag("error.type", "System.TimeoutException");
            }
        }

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery { Limit = 10 }));
        Assert.Equal(
            [("create_agent Planner", LlmStepKinds.Agent, 0), ("invoke_agent Planner", LlmStepKinds.Agent, 0), ("llm_api_call", LlmStepKinds.LlmCall, 1), ("execute_tool get_time", LlmStepKinds.Tool, 1)],
            record.Steps.Select(s => (s.Name, s.Kind, s.Depth)));
        var tool = record.Steps[3];
        Assert.Equal(("error", "System.TimeoutException"), (tool.Status, tool.ErrorType));
    }

    [Fact]
    public void OnEnd_MoreSourceSpansThanTheBound_KeepsTheFirstAndCountsTheRest()
    {
        using var source = new ActivitySource(DbSource + ".Bound");
        using var host = TestHost.Start(
            configure: o =>
            {
                o.StepSources[DbSource + ".*"] = "db";
                o.MaxSourceStepsPerRequest = 3;
            },
            build: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource(source.Name)));

        using (host.Instrumentation.StartRequest("/api/chat"))
        {
            for (var i = 0; i < 5; i++)
            {
                using var query = source.StartActivity($"SELECT {i}", ActivityKind.Client);
            }

            using (LlmStep.Start("llm_api_call"))
            {
            }
        }

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery { Limit = 10 }));
        Assert.Equal(["SELECT 0", "SELECT 1", "SELECT 2", "llm_api_call"], record.Steps.Select(s => s.Name));
        Assert.All(record.Steps.Take(3), s => Assert.Equal("db", s.Kind));
        Assert.Equal(2, record.DroppedSteps);
    }

    [Fact]
    public void OnEnd_SourceNotInStepSourcesOrOutsideARequest_KeepsNothing()
    {
        using var source = new ActivitySource(DbSource + ".Unlisted");
        using var host = TestHost.Start(build: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource(source.Name)));

        using (host.Instrumentation.StartRequest("/api/chat"))
        {
            using var query = source.StartActivity("SELECT 1", ActivityKind.Client);
        }

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery { Limit = 10 }));
        Assert.Empty(record.Steps);
        Assert.Equal(0, record.DroppedSteps);
    }

    [Fact]
    public void OnEnd_StepSourcesFromConfiguration_AddAndRemoveSources()
    {
        using var source = new ActivitySource(DbSource + ".Configured");
        using var host = TestHost.Start(build: b =>
        {
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [$"LlmApm:StepSources:{source.Name}"] = "db",
                ["LlmApm:StepSources:System.Net.Http"] = string.Empty,
                ["LlmApm:MaxSourceStepsPerRequest"] = "1",
            });
            b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource(source.Name));
        });

        var options = host.Instrumentation.Options;
        Assert.Equal("db", options.StepSources[source.Name]);
        Assert.Equal(string.Empty, options.StepSources["System.Net.Http"]);
        Assert.Equal("db", options.StepSources["Npgsql"]);
        using (host.Instrumentation.StartRequest("/api/chat"))
        {
            using (source.StartActivity("SELECT 1", ActivityKind.Client))
            {
            }

            using (source.StartActivity("SELECT 2", ActivityKind.Client))
            {
            }
        }

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery { Limit = 10 }));
        Assert.Equal(("SELECT 1", "db"), (Assert.Single(record.Steps).Name, record.Steps[0].Kind));
        Assert.Equal(1, record.DroppedSteps);
    }

    /// <summary>A real HTTP server on a loopback port that answers every request with 200.</summary>
    private sealed class LoopbackServer : IDisposable
    {
        private readonly HttpListener listener;

        private LoopbackServer(HttpListener listener, string url)
        {
            this.listener = listener;
            this.Url = url;
        }

        public string Url { get; }

        public static LoopbackServer Start()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var url = $"http://127.0.0.1:{port}/";
            var listener = new HttpListener();
            listener.Prefixes.Add(url);
            listener.Start();
            var server = new LoopbackServer(listener, url);
            _ = Task.Run(server.ServeAsync);
            return server;
        }

        public void Dispose() => this.listener.Close();

        private async Task ServeAsync()
        {
            while (this.listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await this.listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        }
    }
}
