using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChatService.Tests.Infrastructure;
using LlmApm.Otel;
using LlmApm.Otel.History;
using LlmApm.Otel.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace ChatService.Tests;

/// <summary>The real service on a history database that cannot be used: it starts and serves chats on the in-memory
/// history, logs one error naming the file, reports <c>/health</c> Degraded and says so in <c>api/info</c> for the
/// dashboard's banner; <c>LlmApm:Sqlite:Required=true</c> makes it a start-up failure with the same message.</summary>
public sealed partial class BrokenHistoryTests : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string data = TempFolder.Create("broken-history");
    private string? mounted;

    private string Database => Path.Combine(this.data, "llm-apm-history.db");

    public void Dispose()
    {
        if (this.mounted is not null)
        {
            Run("umount", this.mounted);
        }

        TempFolder.Delete(this.data);
    }

    [Fact]
    public async Task Start_RandomBytes_ServesChatsDegraded()
    {
        await File.WriteAllBytesAsync(this.Database, RandomBytes(64 * 1024));
        await this.AssertRunsDegradedAsync(this.Database, "not a SQLite database");
    }

    [Fact]
    public async Task Start_TruncatedMidPage_ServesChatsDegraded()
    {
        await WriteRecordsAsync(this.Database, 3000);
        await using (var file = new FileStream(this.Database, FileMode.Open))
        {
            file.SetLength((file.Length / 2) + 100);
        }

        await this.AssertRunsDegradedAsync(this.Database, "damaged");
    }

    [Fact]
    public async Task Start_ReadOnlyFolder_ServesChatsDegraded()
    {
        var readOnly = Directory.CreateDirectory(Path.Combine(this.data, "ro")).FullName;
        if (Environment.UserName == "root")
        {
            Run("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", readOnly); // root ignores file modes
            this.mounted = readOnly;
        }
        else if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }

        await this.AssertRunsDegradedAsync(Path.Combine(readOnly, "llm-apm-history.db"), "cannot be written", ("ChatService:DataPath", readOnly));
    }

    [Fact]
    public async Task Start_LockedByAnotherProcess_WaitsBoundedThenServesChatsDegraded()
    {
        await WriteRecordsAsync(this.Database, 1);
        using var holder = new SqliteConnection($"Data Source={this.Database};Pooling=False");
        await holder.OpenAsync();
        using var hold = holder.CreateCommand();
        hold.CommandText = "BEGIN EXCLUSIVE;";
        await hold.ExecuteNonQueryAsync();

        await this.AssertRunsDegradedAsync(this.Database, "held a lock on it", ("LlmApm:Sqlite:OpenTimeout", "00:00:01"));
    }

    [Fact]
    public async Task Start_NewerSchema_ServesChatsDegraded()
    {
        using (var connection = new SqliteConnection($"Data Source={this.Database};Pooling=False"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 99";
            await command.ExecuteNonQueryAsync();
        }

        await this.AssertRunsDegradedAsync(this.Database, "schema version 99");
    }

    [Fact]
    public async Task Start_RequiredAndDamaged_FailsWithTheFileCauseAndFix()
    {
        await File.WriteAllBytesAsync(this.Database, RandomBytes(8192));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ChatServiceProcess.StartAsync(this.Settings(("LlmApm:Sqlite:Required", "true"))));

        Assert.Contains("exited with 1:", error.Message, StringComparison.Ordinal); // a start-up failure, not an abort (134)
        Assert.Contains($"The request history database '{this.Database}' cannot be opened: the file is not a SQLite database", error.Message, StringComparison.Ordinal);
        Assert.Contains("To fix:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_DamagedOlderPages_Answer503AndServiceKeepsServing()
    {
        await WriteRecordsAsync(this.Database, 3000);
        await using (var file = new FileStream(this.Database, FileMode.Open))
        {
            file.Position = 16 * 4096; // pages of old records; the newest, read at start-up, are intact
            await file.WriteAsync(RandomBytes(64 * 1024));
        }

        using var service = await ChatServiceProcess.StartAsync(this.Settings(("LlmApm:HistoryCapacity", "5")));
        using var client = service.CreateClient();
        Assert.Equal("Healthy", await client.GetStringAsync("/health"));

        using var page = await client.GetAsync("/llm-apm/api/requests?before=400&limit=500");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, page.StatusCode);
        Assert.Equal("application/problem+json", page.Content.Headers.ContentType?.MediaType);
        var problem = await page.Content.ReadFromJsonAsync<JsonElement>(Json);
        Assert.Equal("The request history is unavailable.", problem.GetProperty("title").GetString());
        Assert.Contains("damaged", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));
        await AssertDegradedAsync(service, client, this.Database, "cannot be read");
    }

    private static async Task AssertDegradedAsync(ChatServiceProcess service, HttpClient client, string file, string cause)
    {
        using (var chat = await client.PostAsJsonAsync("/api/chat", new { message = "still here?" }))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }

        Assert.Equal("Degraded", await client.GetStringAsync("/health"));
        var info = await client.GetFromJsonAsync<JsonElement>("/llm-apm/api/info", Json);
        var history = info.GetProperty("history");
        Assert.Equal("degraded", history.GetProperty("status").GetString());
        Assert.Contains(file, history.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains(cause, history.GetProperty("reason").GetString(), StringComparison.Ordinal);

        // One error in the log, naming the file and the cause.
        var output = service.Output;
        Assert.Single(ErrorLine().Matches(output));
        Assert.Contains($"The request history database '{file}'", output, StringComparison.Ordinal);
        Assert.Contains(cause, output, StringComparison.Ordinal);
    }

    private static async Task WriteRecordsAsync(string path, int count)
    {
        await using (var store = new SqliteLlmHistoryStore(
            Options.Create(new SqliteHistoryOptions { Path = path, FlushInterval = TimeSpan.FromMilliseconds(20) }),
            Options.Create(new LlmApmOptions { HistoryCapacity = 10 })))
        {
            store.Open();
            for (var i = 0; i < count; i++)
            {
                store.Add(new LlmRequestRecord
                {
                    Id = $"old-{i}",
                    TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
                    Route = "/api/chat",
                    Status = "error",
                    ErrorMessage = new string('x', 300),
                    StartTime = DateTimeOffset.UtcNow,
                });
            }

            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        }

        // Everything in the main file, as after a clean shutdown.
        SqliteConnection.ClearAllPools();
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        await command.ExecuteNonQueryAsync();
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(7).NextBytes(bytes);
        return bytes;
    }

    private static void Run(string file, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)}: {process.StandardError.ReadToEnd()}");
    }

    [GeneratedRegex(@"^fail: ", RegexOptions.Multiline)]
    private static partial Regex ErrorLine();

    private Dictionary<string, string> Settings(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string>
        {
            ["ChatService:DataPath"] = this.data,
            ["Llm:Simulated:TimeToFirstTokenMs"] = "1",
            ["Llm:Simulated:PerTokenMs"] = "0",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    private async Task AssertRunsDegradedAsync(string file, string cause, params (string Key, string Value)[] extra)
    {
        using var service = await ChatServiceProcess.StartAsync(this.Settings(extra));
        using var client = service.CreateClient();
        await AssertDegradedAsync(service, client, file, cause);
    }
}
