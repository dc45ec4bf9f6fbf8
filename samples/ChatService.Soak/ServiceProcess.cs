using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ChatService.Soak;

/// <summary>The chat service as a child process on a free loopback port; disposing it kills it.</summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly Process process;

    private ServiceProcess(Process process, Uri baseAddress)
    {
        this.process = process;
        this.BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Id => this.process.Id;

    public static async Task<ServiceProcess> StartAsync(string dll, IReadOnlyDictionary<string, string> settings)
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(dll)!, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        var service = new ServiceProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"), new Uri($"http://127.0.0.1:{port}"));
        using var client = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline && !service.process.HasExited)
        {
            try
            {
                using var health = await client.GetAsync(new Uri("/health", UriKind.Relative));
                if (health.IsSuccessStatusCode)
                {
                    return service;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        service.Dispose();
        throw new InvalidOperationException("the chat service did not become healthy");
    }

    /// <summary>The resident set size (<c>VmRSS</c> of <c>/proc/{pid}/status</c>), in bytes; 0 where there is no /proc.</summary>
    public long ResidentBytes()
    {
        var path = $"/proc/{this.process.Id}/status";
        if (!File.Exists(path))
        {
            return 0;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kilobytes = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public void Dispose()
    {
        try
        {
            if (!this.process.HasExited)
            {
                this.process.Kill(entireProcessTree: true);
                this.process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        this.process.Dispose();
    }
}
