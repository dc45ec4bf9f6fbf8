using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LlmApm.Otel.Tests;

/// <summary>A tiny OTLP/HTTP receiver on a loopback port: answers every POST with 200 and keeps each request's path
/// and body, so a test can count the exports that reached it.</summary>
internal sealed class OtlpReceiver : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();

    public OtlpReceiver()
    {
        this.listener.Start();
        _ = this.AcceptAsync();
    }

    public string Endpoint => $"http://127.0.0.1:{((IPEndPoint)this.listener.LocalEndpoint).Port}";

    public ConcurrentQueue<(string Path, byte[] Body)> Requests { get; } = new();

    public IReadOnlyList<(string Path, byte[] Body)> To(string path) => this.Requests.Where(r => r.Path == path).ToList();

    public static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    public void Dispose()
    {
        this.stop.Cancel();
        this.listener.Stop();
        this.stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!this.stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await this.listener.AcceptTcpClientAsync(this.stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = this.ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new List<byte>();
                var chunk = new byte[8192];
                while (true)
                {
                    // Read the head, then Content-Length bytes of body; several requests may share the connection.
                    int headEnd;
                    while ((headEnd = IndexOfHeadEnd(buffer)) < 0)
                    {
                        var read = await stream.ReadAsync(chunk, this.stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        buffer.AddRange(chunk.AsSpan(0, read));
                    }

                    var head = Encoding.ASCII.GetString([.. buffer.GetRange(0, headEnd)]);
                    var lines = head.Split("\r\n");
                    var path = lines[0].Split(' ')[1];
                    var length = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                        .Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
                    buffer.RemoveRange(0, headEnd + 4);
                    while (buffer.Count < length)
                    {
                        var read = await stream.ReadAsync(chunk, this.stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        buffer.AddRange(chunk.AsSpan(0, read));
                    }

                    this.Requests.Enqueue((path, [.. buffer.GetRange(0, length)]));
                    buffer.RemoveRange(0, length);
                    await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), this.stop.Token);
                }
            }
            catch (Exception)
            {
                // The test is over or the exporter hung up.
            }
        }
    }

    private static int IndexOfHeadEnd(List<byte> buffer)
    {
        for (var i = 0; i + 3 < buffer.Count; i++)
        {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n' && buffer[i + 2] == '\r' && buffer[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
