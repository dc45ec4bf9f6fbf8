using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// The real chat service in a child process (<c>dotnet ChatService.dll --urls http://127.0.0.1:{free port}</c>), built
/// in the test's configuration. Disposing it kills it (and its children).
/// </summary>
internal sealed class ChatServiceProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private ChatServiceProcess(Process process, Uri baseAddress)
    {
        this.process = process;
        this.BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Id => this.process.Id;

    public string Output
    {
        get
        {
            lock (this.output)
            {
                return this.output.ToString();
            }
        }
    }

    /// <summary>The built service: <c>samples/ChatService/bin/{configuration}/net10.0/ChatService.dll</c>.</summary>
    public static string ServiceAssembly
    {
        get
        {
            var configuration = typeof(ChatServiceProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "LlmApm.Otel.sln")))
            {
                directory = directory.Parent;
            }

            var path = Path.Combine(directory?.FullName ?? ".", "samples", "ChatService", "bin", configuration, "net10.0", "ChatService.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build samples/ChatService first.", path);
        }
    }

    /// <summary>Starts the service with <paramref name="settings"/> as command-line configuration and waits until
    /// <c>/health</c> answers.</summary>
    public static async Task<ChatServiceProcess> StartAsync(IReadOnlyDictionary<string, string> settings)
    {
        var dll = ServiceAssembly;
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var service = new ChatServiceProcess(process, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await service.WaitHealthyAsync(TimeSpan.FromSeconds(60));
            return service;
        }
        catch
        {
            service.Dispose();
            throw;
        }
    }

    public HttpClient CreateClient() => new() { BaseAddress = this.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>SIGKILL on Linux: no shutdown, no flush.</summary>
    public void Kill()
    {
        if (!this.process.HasExited)
        {
            this.process.Kill(entireProcessTree: true);
        }

        this.process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        try
        {
            this.Kill();
        }
        catch (InvalidOperationException)
        {
        }

        this.process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (this.output)
        {
            this.output.AppendLine(line);
        }
    }

    private async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var client = this.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(2);
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (this.process.HasExited)
            {
                // HasExited can be true before the redirected output is read to its end; this overload waits for it.
                this.process.WaitForExit();
                throw new InvalidOperationException($"The chat service exited with {this.process.ExitCode}:\n{this.Output}");
            }

            try
            {
                using var response = await client.GetAsync("/health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The chat service did not become healthy:\n{this.Output}");
    }
}
