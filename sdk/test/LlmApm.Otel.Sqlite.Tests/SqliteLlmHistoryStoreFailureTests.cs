using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Sqlite.Tests;

/// <summary>A history database that cannot be opened, written or read never stops the service: the store keeps the
/// history in memory, reports itself degraded with the file, the cause and the fix, and logs it once.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class SqliteLlmHistoryStoreFailureTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("llm-apm-sqlite-fail-").FullName;
    private readonly ListLogger<SqliteLlmHistoryStore> log = new();
    private string? mounted;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (this.mounted is not null)
        {
            Run("umount", this.mounted);
        }

        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    public void Open_RandomBytes_KeepsHistoryInMemoryAndReportsDegraded()
    {
        var path = Path.Combine(this.folder, "random.db");
        File.WriteAllBytes(path, RandomBytes(64 * 1024));

        this.AssertOpensDegraded(path, "not a SQLite database");
    }

    [Fact]
    public async Task Open_TruncatedMidPage_KeepsHistoryInMemoryAndReportsDegraded()
    {
        var path = Path.Combine(this.folder, "truncated.db");
        await using (var store = this.Create(path))
        {
            store.Open();
            for (var i = 0; i < 3000; i++)
            {
                store.Add(Record($"t{i}", message: new string('x', 300)));
            }

            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        }

        Checkpoint(path);
        using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength((file.Length / 2) + 100); // mid-page
        }

        this.AssertOpensDegraded(path, "damaged");
    }

    [Fact]
    public void Open_ReadOnlyFolder_KeepsHistoryInMemoryAndReportsDegraded()
    {
        var readOnly = this.ReadOnlyFolder();
        this.AssertOpensDegraded(Path.Combine(readOnly, "h.db"), "cannot be written");
    }

    [Fact]
    public async Task Open_LockedByAnotherConnection_WaitsBoundedThenKeepsHistoryInMemory()
    {
        var path = Path.Combine(this.folder, "locked.db");
        await using (var store = this.Create(path))
        {
            store.Open();
        }

        using var holder = new SqliteConnection($"Data Source={path};Pooling=False");
        holder.Open();
        using var hold = holder.CreateCommand();
        hold.CommandText = "BEGIN EXCLUSIVE;";
        hold.ExecuteNonQuery();

        this.AssertOpensDegraded(path, "held a lock on it for more than 1 s");
    }

    [Fact]
    public void Open_NewerSchema_KeepsHistoryInMemoryAndReportsDegraded()
    {
        var path = Path.Combine(this.folder, "future.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 99";
            command.ExecuteNonQuery();
        }

        this.AssertOpensDegraded(path, "schema version 99");
    }

    [Fact]
    public void Open_RequiredAndDamaged_ThrowsWithTheFileCauseAndFix()
    {
        var path = Path.Combine(this.folder, "required.db");
        File.WriteAllBytes(path, RandomBytes(8192));
        using var store = this.Create(path, required: true);

        var error = Assert.Throws<InvalidOperationException>(store.Open);

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a SQLite database", error.Message, StringComparison.Ordinal);
        Assert.Contains("To fix:", error.Message, StringComparison.Ordinal);
        Assert.Contains("LlmApm:Sqlite:Required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_DiskFull_CountsDropsReportsDegradedOnceAndRecovers()
    {
        var drops = new List<(long Value, string? Reason)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == LlmApmTelemetry.Metrics.HistoryDropped)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            lock (drops)
            {
                drops.Add((value, tags.ToArray().FirstOrDefault(t => t.Key == "reason").Value as string));
            }
        });
        listener.Start();

        var path = Path.Combine(this.folder, "full.db");
        await using var store = this.Create(path);
        store.Open();
        store.Add(Record("before"));
        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));

        // The database may not grow: every write of new pages fails with SQLITE_FULL, as on a full disk.
        store.ConnectionPragmas = " PRAGMA max_page_count = 1;";
        for (var i = 0; i < 20; i++)
        {
            store.Add(Record($"full{i}", message: new string('y', 2000)));
            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));
        }

        Assert.False(store.Health.IsHealthy);
        Assert.Contains(path, store.Health.Reason!, StringComparison.Ordinal);
        Assert.Contains("the disk is full", store.Health.Reason!, StringComparison.Ordinal);
        Assert.Single(this.log.Errors);
        long dropped;
        lock (drops)
        {
            dropped = drops.Where(d => d.Reason == "write_failed").Sum(d => d.Value);
        }

        Assert.Equal("full19", store.Query(new LlmHistoryQuery { Limit = 1 })[0].Id); // still in the live view

        store.ConnectionPragmas = string.Empty;
        store.Add(Record("after"));
        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(10)));

        Assert.True(store.Health.IsHealthy);
        Assert.Single(this.log.Errors);

        // Every record that is not in the database was counted, and the log says how many.
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM requests WHERE id LIKE 'full%'";
        var written = (long)count.ExecuteScalar()!;
        Assert.True(dropped >= 19, $"dropped {dropped}"); // the first may fit in the last page's free space
        Assert.Equal(20, written + dropped);
        Assert.Contains(this.log.Entries, e => e.Message.Contains($"is written again; {dropped} records", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Query_DamagedPage_ThrowsUnavailableAndReportsDegraded()
    {
        var path = Path.Combine(this.folder, "damaged.db");
        await using var store = this.Create(path, ringCapacity: 5);
        store.Open();
        for (var i = 0; i < 3000; i++)
        {
            store.Add(Record($"d{i}", message: new string('z', 300)));
        }

        Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        Checkpoint(path);
        SqliteConnection.ClearAllPools();
        using (var file = new FileStream(path, FileMode.Open))
        {
            // Pages in the first half hold the oldest records: the newest, in memory, stay readable.
            var garbage = RandomBytes(64 * 1024);
            file.Position = 16 * 4096;
            file.Write(garbage);
        }

        Assert.Equal(5, store.Query(new LlmHistoryQuery { Limit = 5 }).Count);
        var error = Assert.Throws<LlmHistoryUnavailableException>(() => store.Query(new LlmHistoryQuery { Limit = 500, Before = 400 }));

        Assert.Contains("cannot be read", error.Message, StringComparison.Ordinal);
        Assert.False(store.Health.IsHealthy);
        Assert.Contains(path, store.Health.Reason!, StringComparison.Ordinal);
        Assert.Single(this.log.Errors);

        // New requests are still kept.
        store.Add(Record("new"));
        Assert.Equal("new", store.Find("new")!.Id);
    }

    private static void Checkpoint(string path)
    {
        SqliteConnection.ClearAllPools();
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        command.ExecuteNonQuery();
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(42).NextBytes(bytes);
        return bytes;
    }

    private static void Run(string file, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)}: {process.StandardError.ReadToEnd()}");
    }

    private static LlmRequestRecord Record(string id, string? message = null) => new()
    {
        Id = id,
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        Route = "/api/chat",
        Status = message is null ? "ok" : "error",
        ErrorMessage = message,
        StartTime = DateTimeOffset.UtcNow,
        DurationMs = 12.5,
    };

    /// <summary>A folder this process cannot write: a read-only tmpfs for root (which ignores file modes), else
    /// mode 555.</summary>
    private string ReadOnlyFolder()
    {
        var readOnly = Directory.CreateDirectory(Path.Combine(this.folder, "ro")).FullName;
        if (Environment.UserName == "root")
        {
            Run("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", readOnly);
            this.mounted = readOnly;
        }
        else if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }

        return readOnly;
    }

    private SqliteLlmHistoryStore Create(string path, int ringCapacity = 100, bool required = false)
        => new(
            Options.Create(new SqliteHistoryOptions
            {
                Path = path,
                Required = required,
                OpenTimeout = TimeSpan.FromSeconds(1),
                FlushInterval = TimeSpan.FromMilliseconds(20),
            }),
            Options.Create(new LlmApmOptions { HistoryCapacity = ringCapacity }),
            this.log);

    private void AssertOpensDegraded(string path, string cause)
    {
        using var store = this.Create(path);

        store.Open();

        Assert.False(store.IsOpen);
        Assert.False(store.Health.IsHealthy);
        Assert.Contains(path, store.Health.Reason!, StringComparison.Ordinal);
        Assert.Contains(cause, store.Health.Reason!, StringComparison.Ordinal);
        Assert.Contains("To fix:", store.Health.Reason!, StringComparison.Ordinal);
        var error = Assert.Single(this.log.Errors);
        Assert.Contains(path, error, StringComparison.Ordinal);
        Assert.Contains(cause, error, StringComparison.Ordinal);

        // The history goes on, in memory.
        store.Add(Record("kept"));
        Assert.Equal("kept", store.Query(new LlmHistoryQuery())[0].Id);
        Assert.Equal("kept", store.Find("kept")!.Id);
    }
}
