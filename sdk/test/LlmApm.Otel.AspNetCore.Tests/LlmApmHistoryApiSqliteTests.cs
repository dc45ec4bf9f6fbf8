using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmApm.Otel.History;
using LlmApm.Otel.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>The history API over the SQLite store, with rows the store cannot decode: the pages skip them (no 500, no
/// 503), and the request page of a bad row is 404.</summary>
public sealed class LlmApmHistoryApiSqliteTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("llm-apm-api-sqlite-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    public async Task Requests_SqliteRowsThatCannotBeDecoded_AnswersFullPagesWithoutThem()
    {
        var path = Path.Combine(this.folder, "h.db");
        await using var app = await TestApp.StartAsync(configure: builder =>
        {
            builder.Services.Configure<LlmApmOptions>(o => o.HistoryCapacity = 5);
            builder.Services.AddLlmApmSqliteHistory(o =>
            {
                o.Path = path;
                o.FlushInterval = TimeSpan.FromMilliseconds(20);
            });
        });
        var store = app.App.Services.GetRequiredService<SqliteLlmHistoryStore>();
        for (var i = 1; i <= 40; i++)
        {
            store.Add(new LlmRequestRecord
            {
                Id = "r" + i,
                TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
                Route = "/api/chat",
                Status = "ok",
                StartTime = DateTimeOffset.UtcNow,
                DurationMs = 12.5,
                Steps = [new LlmStepRecord("llm_api_call", 0, 10, "ok", null, 0)],
            });
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """UPDATE requests SET steps = 'not json' WHERE seq = 23; UPDATE requests SET properties = '[1]' WHERE seq = 22;""";
            command.ExecuteNonQuery();
        }

        using var response = await app.Client.GetAsync("/llm-apm/api/requests?limit=10&before=30");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.Content.ReadFromJsonAsync<JsonElement>();
        var ids = page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()).ToList();
        Assert.Equal(["r29", "r28", "r27", "r26", "r25", "r24", "r21", "r20", "r19", "r18"], ids);
        Assert.Equal("18", page.GetProperty("nextCursor").GetString());

        using var bad = await app.Client.GetAsync("/llm-apm/api/requests/r23");
        Assert.Equal(HttpStatusCode.NotFound, bad.StatusCode);
        Assert.True(store.Health.IsHealthy);
    }
}
