using LlmApm.Otel.History;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Resources;

namespace LlmApm.Otel.Tests;

/// <summary>Each record names the replica that served it, from the tracer provider's resource.</summary>
[Collection(ProcessWideTelemetry.Name)]
public class LlmReplicaTests
{
    [Fact]
    public void Record_ResourceWithServiceInstanceId_CarriesIt()
    {
        using var host = TestHost.Start(build: b => b.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("chat", serviceInstanceId: "replica-42")));

        using (host.Instrumentation.StartRequest("replica"))
        {
        }

        host.Flush();
        Assert.Equal("replica-42", Assert.Single(host.History.Query(new LlmHistoryQuery { Route = "replica" })).Replica);
    }

    [Fact]
    public void Record_ResourceWithoutServiceInstanceId_CarriesHostAndProcessId()
    {
        using var host = TestHost.Start(build: b => b.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("chat", autoGenerateServiceInstanceId: false)));

        using (host.Instrumentation.StartRequest("replica"))
        {
        }

        host.Flush();
        var expected = $"{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}";
        Assert.Equal(expected, Assert.Single(host.History.Query(new LlmHistoryQuery { Route = "replica" })).Replica);
    }
}
