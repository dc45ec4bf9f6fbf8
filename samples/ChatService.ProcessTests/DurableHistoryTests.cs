using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatService.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using static ChatService.Tests.Infrastructure.ChatServiceHost;

namespace ChatService.Tests;

/// <summary>The history on SQLite by default: it survives a restart, and a killed process loses at most the last
/// flush interval.</summary>
public sealed class DurableHistoryTests
{
    private const int MinimumFinished = 20;

    [Fact]
    public async Task History_TwoLifetimesOnOneDatabase_ShowsTheRequestsFromBefore()
    {
        var data = TempFolder.Create("restart");
        try
        {
            // A ring of 4: most of the first lifetime's records come back from the database, not from memory.
            var settings = Settings(("ChatService:DataPath", data), ("LlmApm:HistoryCapacity", "4"));
            var before = new List<string>();
            await using (var first = new ChatServiceHost(settings))
            {
                using var client = first.CreateClient();
                for (var i = 0; i < 6; i++)
                {
                    before.Add(await ChatAsync(first, client, $"first lifetime {i}", stream: i % 2 == 1));
                }

                before.Add(await FailedChatAsync(first, client));
            }

            Assert.True(File.Exists(Path.Combine(data, "llm-apm-history.db")), "the database is in the data folder");

            await using var second = new ChatServiceHost(settings);
            using var secondClient = second.CreateClient();
            var restored = await second.GetAllRecordsAsync(secondClient);
            Assert.Equal(before.AsEnumerable().Reverse(), restored.Select(r => r.GetProperty("id").GetString()));
            Assert.Equal("error", restored[0].GetProperty("status").GetString());
            Assert.Equal("rate_limited", restored[0].GetProperty("errorType").GetString());
            foreach (var id in before)
            {
                using var one = await secondClient.GetAsync($"/llm-apm/api/requests/{id}");
                Assert.Equal(HttpStatusCode.OK, one.StatusCode);
            }

            var summary = await secondClient.GetFromJsonAsync<JsonElement>("/llm-apm/api/summary?window=1h", Json);
            Assert.Equal(7, summary.GetProperty("count").GetInt32());

            // New records continue the sequence: nothing from before is overwritten.
            var after = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                after.Add(await ChatAsync(second, secondClient, $"second lifetime {i}", stream: false));
            }

            var all = await second.GetAllRecordsAsync(secondClient);
            Assert.Equal(after.AsEnumerable().Reverse().Concat(before.AsEnumerable().Reverse()), all.Select(r => r.GetProperty("id").GetString()));
            Assert.Equal(all.Count, all.Select(r => r.GetProperty("seq").GetInt64()).Distinct().Count());
        }
        finally
        {
            TempFolder.Delete(data);
        }
    }

    [Fact]
    public async Task History_ProcessKilledUnderLoad_DatabaseIntactAndFlushedRecordsKept()
    {
        var flushInterval = TimeSpan.FromMilliseconds(250);
        var margin = TimeSpan.FromSeconds(1.75);
        var data = TempFolder.Create("crash");
        var database = Path.Combine(data, "llm-apm-history.db");
        var settings = new Dictionary<string, string>
        {
            ["ChatService:DataPath"] = data,
            ["LlmApm:Sqlite:FlushInterval"] = flushInterval.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
            ["Llm:Simulated:TimeToFirstTokenMs"] = "2",
            ["Llm:Simulated:PerTokenMs"] = "0",
            ["ChatService:RateLimit:PermitLimit"] = "1000000",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        try
        {
            var finished = new ConcurrentQueue<(string Id, DateTime At)>();
            DateTime killedAt;
            using (var service = await ChatServiceProcess.StartAsync(settings))
            {
                using var client = service.CreateClient();
                using var stop = new CancellationTokenSource();
                var workers = Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
                {
                    for (var i = 0; !stop.IsCancellationRequested; i++)
                    {
                        try
                        {
                            var stream = (w + i) % 2 == 0;
                            using var response = await client.PostAsJsonAsync(stream ? "/api/chat/stream" : "/api/chat", new { message = $"load {w}-{i}" }, stop.Token);
                            var body = await response.Content.ReadAsStringAsync(stop.Token);
                            var done = stream ? ServerSentEvents.Parse(body)[^1].Data : JsonDocument.Parse(body).RootElement;
                            finished.Enqueue((done.GetProperty("requestId").GetString()!, DateTime.UtcNow));
                        }
                        catch (Exception) when (stop.IsCancellationRequested)
                        {
                        }
                        catch (HttpRequestException)
                        {
                            return; // The process is gone.
                        }
                    }
                })).ToArray();

                // Kill once enough chats have finished and a flush interval and the margin have passed since then, however
                // long a busy machine takes to get there; the workers keep the service loaded until the kill.
                await Eventually.TrueAsync(() => finished.Count >= MinimumFinished || workers.All(w => w.IsCompleted), TimeSpan.FromMinutes(2));
                await Task.Delay(flushInterval + margin + TimeSpan.FromMilliseconds(100));
                killedAt = DateTime.UtcNow;
                service.Kill();
                await stop.CancelAsync();
                await Task.WhenAll(workers);
            }

            var expected = finished.Where(f => f.At < killedAt - flushInterval - margin).Select(f => f.Id).ToList();
            Assert.True(expected.Count >= MinimumFinished, $"only {expected.Count} chats finished well before the kill (of {finished.Count})");

            var stored = new HashSet<string>(StringComparer.Ordinal);
            long maxSeq;
            await using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
            {
                await connection.OpenAsync();
                await using var check = connection.CreateCommand();
                check.CommandText = "PRAGMA integrity_check";
                Assert.Equal("ok", (string?)await check.ExecuteScalarAsync());
                check.CommandText = "SELECT id FROM requests";
                await using (var reader = await check.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                        stored.Add(reader.GetString(0));
                    }
                }

                check.CommandText = "SELECT MAX(seq) FROM requests";
                maxSeq = (long)(await check.ExecuteScalarAsync())!;
            }

            var lost = expected.Where(id => !stored.Contains(id)).ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} of {expected.Count} records finished before the kill are missing");

            // The restarted service opens the same file and shows those records, and new ones come after them.
            using (var restarted = await ChatServiceProcess.StartAsync(settings))
            {
                using var client = restarted.CreateClient();
                var summary = await client.GetFromJsonAsync<JsonElement>("/llm-apm/api/summary?window=1h", Json);
                Assert.True(summary.GetProperty("count").GetInt32() >= stored.Count, restarted.Output);
                using (var oldest = await client.GetAsync($"/llm-apm/api/requests/{expected[0]}"))
                {
                    Assert.Equal(HttpStatusCode.OK, oldest.StatusCode);
                }

                using var chat = await client.PostAsJsonAsync("/api/chat", new { message = "after the crash" });
                var reply = await chat.Content.ReadFromJsonAsync<JsonElement>(Json);
                var record = await client.GetFromJsonAsync<JsonElement>($"/llm-apm/api/requests/{reply.GetProperty("requestId").GetString()}", Json);
                Assert.True(record.GetProperty("seq").GetInt64() > maxSeq);
            }

            await using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
            {
                await connection.OpenAsync();
                await using var check = connection.CreateCommand();
                check.CommandText = "PRAGMA integrity_check";
                Assert.Equal("ok", (string?)await check.ExecuteScalarAsync());
            }
        }
        finally
        {
            TempFolder.Delete(data);
        }
    }

    private static async Task<string> ChatAsync(ChatServiceHost host, HttpClient client, string message, bool stream)
    {
        using var response = await host.PostChatAsync(client, new { message }, stream);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (_, done) = await ChatReplies.ReadAsync(response, stream);
        var id = done.GetProperty("requestId").GetString()!;
        await host.GetRecordAsync(client, id);
        return id;
    }

    private static async Task<string> FailedChatAsync(ChatServiceHost host, HttpClient client)
    {
        using var response = await host.PostChatAsync(client, new { message = "/fault rate_limited" });
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        var id = problem.GetProperty("requestId").GetString()!;
        await host.GetRecordAsync(client, id);
        return id;
    }
}
