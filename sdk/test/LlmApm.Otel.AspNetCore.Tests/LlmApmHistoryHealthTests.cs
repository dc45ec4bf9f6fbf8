using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmApm.Otel.History;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>A history store that reports itself degraded, or cannot read, is visible in <c>/health</c>,
/// <c>api/info</c> and as 503 problem details, while the rest of the host works.</summary>
public sealed class LlmApmHistoryHealthTests
{
    [Fact]
    public async Task HistoryApi_StoreCannotRead_Answers503ProblemDetails()
    {
        var store = new BrokenStore { Health = LlmHistoryHealth.Degraded("The history database '/x/h.db' cannot be read: damaged.") };
        await using var app = await StartAsync(store);

        foreach (var path in new[] { "api/requests", "api/requests/abc", "api/summary", "api/timeseries" })
        {
            using var response = await app.Client.GetAsync($"/llm-apm/{path}");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("The request history is unavailable.", problem.GetProperty("title").GetString());
            Assert.Equal("the store cannot read", problem.GetProperty("detail").GetString());
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));
        }
    }

    [Fact]
    public async Task InfoAndHealth_StoreDegradedThenHealthy_FollowTheStore()
    {
        var store = new BrokenStore { Health = LlmHistoryHealth.Degraded("The history database '/x/h.db' cannot be written: the disk is full.") };
        await using var app = await StartAsync(store);

        var info = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/info");
        Assert.Equal("degraded", info.GetProperty("history").GetProperty("status").GetString());
        Assert.Equal(store.Health.Reason, info.GetProperty("history").GetProperty("reason").GetString());
        Assert.Equal("Degraded", await app.Client.GetStringAsync("/health"));

        store.Health = LlmHistoryHealth.Healthy;

        info = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/info");
        Assert.Equal("healthy", info.GetProperty("history").GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, info.GetProperty("history").GetProperty("reason").ValueKind);
        Assert.Equal("Healthy", await app.Client.GetStringAsync("/health"));
    }

    private static Task<TestApp> StartAsync(BrokenStore store)
        => TestApp.StartAsync(
            map: app => app.MapHealthChecks("/health"),
            configure: builder =>
            {
                builder.Services.AddSingleton<ILlmHistoryStore>(store);
                builder.Services.AddHealthChecks().AddLlmApmHistory();
            });

    private sealed class BrokenStore : ILlmHistoryStore
    {
        public LlmHistoryHealth Health { get; set; } = LlmHistoryHealth.Healthy;

        public long Add(LlmRequestRecord record) => 0;

        public LlmRequestRecord? Find(string id) => throw new LlmHistoryUnavailableException("the store cannot read");

        public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query) => throw new LlmHistoryUnavailableException("the store cannot read");

        public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from) => throw new LlmHistoryUnavailableException("the store cannot read");
    }
}
