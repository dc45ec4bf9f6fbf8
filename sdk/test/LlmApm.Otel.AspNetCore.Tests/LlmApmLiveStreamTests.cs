using System.Diagnostics;
using System.Net;
using System.Text.Json;
using LlmApm.Otel.AspNetCore.Implementation;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>The live stream's bound on all its connections together, and one serialization of each record for all of
/// them.</summary>
public sealed class LlmApmLiveStreamTests
{
    [Fact]
    public async Task HandleAsync_ServerFull_503ProblemFromEveryAddressUntilOneCloses()
    {
        await using var app = await TestApp.StartAsync(options: o => o.MaxStreamConnections = 3);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));

        // Three loopback addresses, one stream each: far below the per-client limit of 4.
        var open = new List<HttpResponseMessage>();
        foreach (var address in new[] { "127.0.0.2", "127.0.0.3", "127.0.0.4" })
        {
            var response = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream", address), HttpCompletionOption.ResponseHeadersRead, cts.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            open.Add(response);
        }

        foreach (var address in new[] { "127.0.0.5", "127.0.0.2", "::1" })
        {
            using var refused = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream", address), HttpCompletionOption.ResponseHeadersRead, cts.Token);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync(cts.Token));
            Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
            Assert.Contains("3 live streams", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("requestId").GetString()));
        }

        // Refusals hold no slot; a closed stream frees its own.
        var connections = app.App.Services.GetRequiredService<LlmApmStreamConnections>();
        Assert.Equal(3, connections.Total);
        open[0].Dispose();
        var deadline = Stopwatch.StartNew();
        while (connections.Total > 2 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        using var again = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream", "127.0.0.5"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        foreach (var response in open)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task HandleAsync_SeveralSubscribers_OneSerializationOfEachRecord()
    {
        await using var app = await TestApp.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var readers = new List<StreamReader>();
        var responses = new List<HttpResponseMessage>();
        foreach (var address in new[] { "127.0.0.2", "127.0.0.3", "127.0.0.4" })
        {
            var response = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/stream", address), HttpCompletionOption.ResponseHeadersRead, cts.Token);
            responses.Add(response);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            Assert.Equal("retry: 2000", await reader.ReadLineAsync(cts.Token));
            Assert.Equal(string.Empty, await reader.ReadLineAsync(cts.Token));
            readers.Add(reader);
        }

        using var subscription = app.Instrumentation.Feed.Subscribe();
        using (app.Instrumentation.StartRequest("/live", conversationId: null, CancellationToken.None))
        {
        }

        var published = await subscription.Reader.ReadAsync(cts.Token);
        var events = new List<string>();
        foreach (var reader in readers)
        {
            Assert.Equal("event: request", await reader.ReadLineAsync(cts.Token));
            events.Add(await reader.ReadLineAsync(cts.Token) + "\n" + await reader.ReadLineAsync(cts.Token));
        }

        // Every stream wrote the same event, and the record's event is the one kept for it: no stream made its own.
        Assert.Single(events.Distinct(StringComparer.Ordinal));
        Assert.Same(LlmApmLiveStream.Formatted(published), LlmApmLiveStream.Formatted(published));
        Assert.Equal(System.Text.Encoding.UTF8.GetBytes("event: request\n" + events[0] + "\n\n"), LlmApmLiveStream.Formatted(published));

        foreach (var reader in readers)
        {
            reader.Dispose();
        }

        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}
