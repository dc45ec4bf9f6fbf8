using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using ChatService.Tests.Infrastructure;
using LlmApm.Otel.PostgreSql.Implementation;
using LlmApm.Otel.PostgreSql.Tests.Infrastructure;
using Npgsql;

namespace LlmApm.Otel.PostgreSql.Tests;

/// <summary>Real chat-service processes sharing one PostgreSQL database. One cluster for the class, whose tests run
/// one after another: one of them stops the database.</summary>
public sealed class ReplicaProcessTests(PostgresCluster cluster) : IClassFixture<PostgresCluster>
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(250);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task ThreeReplicas_ChatsWithFaults_SentEqualsMetricsEqualsRowsEqualsSummary()
    {
        var database = await cluster.CreateDatabaseAsync();
        var settings = Settings(database, ("Llm:Simulated:Faults:provider_unavailable", "0.2"));
        var replicas = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => ChatServiceProcess.StartAsync(settings)));
        try
        {
            // The live stream of replica 0 is open before the others serve: their records must reach it.
            using var streamClient = replicas[0].CreateClient();
            streamClient.Timeout = Timeout.InfiniteTimeSpan;
            using var live = new CancellationTokenSource();
            var streamed = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
            var reading = ReadLiveStreamAsync(streamClient, streamed, live.Token);

            var sent = new ConcurrentBag<(string Id, bool Ok)>();
            await Task.WhenAll(replicas.Select((replica, r) => Task.Run(async () =>
            {
                using var client = replica.CreateClient();
                for (var i = 0; i < 30; i++)
                {
                    var message = i % 10 == 9 ? "/fault rate_limited" : $"replica {r} message {i}";
                    sent.Add(await ChatAsync(client, message));
                }
            })));

            Assert.Contains(sent, s => !s.Ok);
            var metrics = 0d;
            foreach (var replica in replicas)
            {
                using var client = replica.CreateClient();
                metrics += new PrometheusText(await client.GetStringAsync("/metrics")).Sum("llm_requests_total");
            }

            Assert.Equal(sent.Count, (int)metrics);

            await Eventually.TrueAsync(async () => await CountRowsAsync(database) >= sent.Count, TimeSpan.FromSeconds(30));
            Assert.Equal(sent.Count, await CountRowsAsync(database));
            Assert.Equal(3, await ScalarAsync<long>(database, $"SELECT count(DISTINCT replica) FROM {PostgreSqlHistorySchema.Table}"));

            foreach (var replica in replicas)
            {
                using var client = replica.CreateClient();
                var summary = await client.GetFromJsonAsync<JsonElement>("/llm-apm/api/summary?window=1h", Json);
                Assert.Equal(sent.Count, summary.GetProperty("count").GetInt32());
                Assert.Equal(sent.Count(s => !s.Ok), summary.GetProperty("errorCount").GetInt32());
            }

            // Every request of the other replicas reached replica 0's live stream, through the database.
            var others = (await RowsAsync(database)).Where(r => r.Replica != ReplicaOf(replicas[0])).Select(r => r.Id).ToList();
            await Eventually.TrueAsync(() => others.All(streamed.ContainsKey), TimeSpan.FromSeconds(30));
            await live.CancelAsync();
            await reading;
        }
        finally
        {
            foreach (var replica in replicas)
            {
                replica.Dispose();
            }
        }
    }

    [Fact]
    public async Task KillOneReplicaUnderLoad_FlushedRecordsKept_OthersKeepServing()
    {
        var database = await cluster.CreateDatabaseAsync();
        var settings = Settings(database);
        var replicas = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => ChatServiceProcess.StartAsync(settings)));
        var margin = TimeSpan.FromSeconds(1.75);
        try
        {
            var finished = new ConcurrentQueue<(int Replica, string Id, DateTime At)>();
            using var stop = new CancellationTokenSource();
            var workers = replicas.SelectMany((replica, r) => Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
            {
                using var client = replica.CreateClient();
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var (id, _) = await ChatAsync(client, $"load {r}-{w}", stop.Token);
                        finished.Enqueue((r, id, DateTime.UtcNow));
                    }
                    catch (Exception) when (stop.IsCancellationRequested)
                    {
                    }
                    catch (HttpRequestException)
                    {
                        return; // This replica is gone.
                    }
                }
            }))).ToArray();

            await Eventually.TrueAsync(() => finished.Count(f => f.Replica == 0) >= 20, TimeSpan.FromMinutes(2));
            await Task.Delay(FlushInterval + margin + TimeSpan.FromMilliseconds(100));
            var killedAt = DateTime.UtcNow;
            replicas[0].Kill();

            // The survivor keeps serving after the kill.
            var servedAfterKill = finished.Count(f => f.Replica == 1);
            await Eventually.TrueAsync(() => finished.Count(f => f.Replica == 1) >= servedAfterKill + 20, TimeSpan.FromMinutes(1));
            await stop.CancelAsync();
            await Task.WhenAll(workers);

            var stored = (await RowsAsync(database)).Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
            var expected = finished.Where(f => f.Replica == 0 && f.At < killedAt - FlushInterval - margin).Select(f => f.Id).ToList();
            Assert.True(expected.Count >= 20, $"only {expected.Count} chats finished well before the kill");
            var lost = expected.Where(id => !stored.Contains(id)).ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} of {expected.Count} records finished before the kill are missing");

            // Everything the survivor finished is written (its writer flushes within the interval).
            var survivor = finished.Where(f => f.Replica == 1).Select(f => f.Id).ToList();
            await Eventually.TrueAsync(async () => survivor.All((await RowsAsync(database)).Select(r => r.Id).ToHashSet().Contains), TimeSpan.FromSeconds(30));
        }
        finally
        {
            foreach (var replica in replicas)
            {
                replica.Dispose();
            }
        }
    }

    [Fact]
    public async Task DatabaseStoppedTenSecondsUnderLoad_ChatsWorkAndEveryRecordIsWrittenOrCountedDropped()
    {
        var database = await cluster.CreateDatabaseAsync();
        var settings = Settings(database, ("LlmApm:PostgreSql:RetryInterval", "00:00:00.500"));
        using var first = await ChatServiceProcess.StartAsync(settings);
        using var client = first.CreateClient();
        var sent = new ConcurrentBag<string>();
        var failedChats = 0;
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var (id, ok) = await ChatAsync(client, $"outage {w}", stop.Token);
                    sent.Add(id);
                    if (!ok)
                    {
                        Interlocked.Increment(ref failedChats);
                    }
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                }
            }
        })).ToArray();

        await Eventually.TrueAsync(() => sent.Count >= 20, TimeSpan.FromMinutes(1));
        await cluster.StopAsync();
        var beforeOutage = sent.Count;
        ChatServiceProcess? second = null;
        try
        {
            // A replica that starts while the database is down starts and serves.
            second = await ChatServiceProcess.StartAsync(settings);
            using var secondClient = second.CreateClient();
            var (secondId, secondOk) = await ChatAsync(secondClient, "started while the database is down");
            Assert.True(secondOk);
            var health = await secondClient.GetStringAsync("/health");
            Assert.Contains("Degraded", health, StringComparison.Ordinal);

            await Task.Delay(TimeSpan.FromSeconds(10));
            Assert.True(sent.Count > beforeOutage + 20, "the chats kept working while the database was down");
            await cluster.StartAsync();
            await stop.CancelAsync();
            await Task.WhenAll(workers);
            Assert.Equal(0, failedChats);

            var all = sent.Append(secondId).ToList();
            var dropped = 0d;
            await Eventually.TrueAsync(
                async () =>
                {
                    dropped = 0;
                    foreach (var service in new[] { first, second })
                    {
                        using var c = service.CreateClient();
                        dropped += new PrometheusText(await c.GetStringAsync("/metrics")).Sum("llm_history_dropped_total");
                    }

                    return await CountRowsAsync(database) + dropped >= all.Count && await CountRowsAsync(database) + dropped >= await RequestsAsync(first, second);
                },
                TimeSpan.FromSeconds(60));

            // Buffered, not dropped: the queue holds a ten-second outage at this rate. Every request the two processes
            // counted is a row (some the workers cancelled when they stopped), and every one they answered.
            Assert.Equal(0, dropped);
            var rows = await RowsAsync(database);
            Assert.Equal(await RequestsAsync(first, second), rows.Count);
            var stored = rows.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
            Assert.Equal(rows.Count, stored.Count);
            Assert.All(all, id => Assert.Contains(id, stored));
            await Eventually.TrueAsync(async () => !(await client.GetStringAsync("/health")).Contains("Degraded", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        }
        finally
        {
            second?.Dispose();
            try
            {
                await cluster.StartAsync();
            }
            catch (InvalidOperationException)
            {
                // Already running.
            }
        }
    }

    private static Dictionary<string, string> Settings(string database, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string>
        {
            ["ChatService:HistoryStore"] = "postgresql",
            ["ConnectionStrings:LlmApmHistory"] = database,
            ["LlmApm:PostgreSql:FlushInterval"] = FlushInterval.ToString("c", CultureInfo.InvariantCulture),
            ["LlmApm:PostgreSql:LivePollInterval"] = "00:00:00.250",
            ["Llm:Simulated:TimeToFirstTokenMs"] = "2",
            ["Llm:Simulated:PerTokenMs"] = "0",
            ["ChatService:RateLimit:PermitLimit"] = "1000000",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static async Task<(string Id, bool Ok)> ChatAsync(HttpClient client, string message, CancellationToken cancellationToken = default)
    {
        using var response = await client.PostAsJsonAsync("/api/chat", new { message }, cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken);
        return (body.GetProperty("requestId").GetString()!, response.IsSuccessStatusCode);
    }

    private static async Task ReadLiveStreamAsync(HttpClient client, ConcurrentDictionary<string, bool> seen, CancellationToken token)
    {
        try
        {
            using var response = await client.GetAsync("/llm-apm/api/stream", HttpCompletionOption.ResponseHeadersRead, token);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(token));
            while (await reader.ReadLineAsync(token) is { } line)
            {
                if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    using var data = JsonDocument.Parse(line["data:".Length..]);
                    seen[data.RootElement.GetProperty("id").GetString()!] = true;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    // A process's replica is host-pid when its OpenTelemetry resource names none, as the sample's does not.
    private static string ReplicaOf(ChatServiceProcess replica) => $"{Environment.MachineName.ToLowerInvariant()}-{replica.Id}";

    private static async Task<long> RequestsAsync(params ChatServiceProcess[] services)
    {
        var requests = 0d;
        foreach (var service in services)
        {
            using var client = service.CreateClient();
            requests += new PrometheusText(await client.GetStringAsync("/metrics")).Sum("llm_requests_total");
        }

        return (long)requests;
    }

    private static Task<long> CountRowsAsync(string database) => ScalarAsync<long>(database, $"SELECT count(*) FROM {PostgreSqlHistorySchema.Table}");

    private static async Task<List<(string Id, string Replica)>> RowsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT id, replica FROM {PostgreSqlHistorySchema.Table}", connection);
        var rows = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    private static async Task<T> ScalarAsync<T>(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
