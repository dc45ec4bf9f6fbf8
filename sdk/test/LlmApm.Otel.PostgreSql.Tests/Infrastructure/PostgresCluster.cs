using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace LlmApm.Otel.PostgreSql.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster: <c>initdb</c> into a temporary folder and <c>pg_ctl</c> on a free loopback port,
/// run as the <c>postgres</c> user when the tests run as root (PostgreSQL refuses root). Without the server binaries
/// (Debian's <c>postgresql</c> package; <c>./test.sh</c> installs it) every test that needs one fails with that
/// message: the suite never passes by skipping.
/// </summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    private const string User = "apm";
    private readonly string folder = Path.Combine(Path.GetTempPath(), "llmapm-pg-" + Guid.NewGuid().ToString("N")[..12]);
    private string bin = string.Empty;
    private int databases;

    public int Port { get; private set; }

    private string DataFolder => Path.Combine(this.folder, "data");

    private static bool IsRoot => Environment.UserName == "root";

    public static string FindBinaries()
    {
        var root = "/usr/lib/postgresql";
        var found = Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Where(b => File.Exists(Path.Combine(b, "pg_ctl"))).OrderDescending().FirstOrDefault()
            : null;
        return found ?? throw new InvalidOperationException(
            "The PostgreSQL server binaries are missing (/usr/lib/postgresql/<version>/bin/pg_ctl): install Debian's postgresql package (./test.sh does when it runs as root).");
    }

    public async Task InitializeAsync()
    {
        this.bin = FindBinaries();
        Directory.CreateDirectory(this.folder);
        if (IsRoot)
        {
            await RunAsync("chown", "postgres:postgres", this.folder);
        }

        this.Port = FreePort();
        await this.AsServerUserAsync("initdb", "-D", this.DataFolder, "-U", User, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C");
        await this.StartAsync();
    }

    /// <summary>Starts the server (again), waiting until it accepts connections.</summary>
    public Task StartAsync() => this.AsServerUserAsync(
        "pg_ctl", "-D", this.DataFolder, "-l", Path.Combine(this.folder, "server.log"), "-w", "-t", "60", "-o",
        $"-p {this.Port} -k {this.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200", "start");

    /// <summary>Stops the server at once (clients see their connections fail, as in a crash or fail-over).</summary>
    public Task StopAsync() => this.AsServerUserAsync("pg_ctl", "-D", this.DataFolder, "-m", "immediate", "-w", "stop");

    /// <summary>A new, empty database and its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "history_" + Interlocked.Increment(ref this.databases);
        await using var connection = new NpgsqlConnection(this.ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE {name}";
        await command.ExecuteNonQueryAsync();
        return this.ConnectionString(name);
    }

    public string ConnectionString(string database)
        => $"Host=127.0.0.1;Port={this.Port};Username={User};Database={database};Pooling=true;Timeout=5;Command Timeout=30";

    public async Task DisposeAsync()
    {
        try
        {
            await this.StopAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        try
        {
            Directory.Delete(this.folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Task AsServerUserAsync(string tool, params string[] arguments)
    {
        var path = Path.Combine(this.bin, tool);
        return IsRoot ? RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments]) : RunAsync(path, arguments);
    }

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }
}

/// <summary>One cluster for the tests that never stop it.</summary>
[CollectionDefinition(Name)]
public sealed class SharedCluster : ICollectionFixture<PostgresCluster>
{
    public const string Name = "Shared PostgreSQL cluster";
}
