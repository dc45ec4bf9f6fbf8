using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ChatService.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using static ChatService.Tests.Infrastructure.ChatServiceHost;

namespace ChatService.Tests;

/// <summary>
/// Request bodies the client got wrong, sent byte by byte over a real loopback socket to the service on Kestrel: each
/// is answered as the client's mistake and counted as <c>invalid_request</c> or <c>cancelled</c> in
/// <c>llm_errors_total</c> and the history, never as the provider's (<c>_OTHER</c>, 502).
/// </summary>
[Collection(ProcessWideTelemetry.Name)] // scrapes an in-process host's /metrics, which every in-process host feeds
public sealed class MalformedTransferTests
{
    private const string ChunkedHead = "POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

    public static TheoryData<string, string, int> Bodies() => new()
    {
        // name, what follows the request head, the answer's status
        { "chunk size overflow", "ffffffffffffffffff\r\n{\"message\":\"hi\"}\r\n0\r\n\r\n", 400 },
        { "chunk size not hex", "zz\r\n{\"message\":\"hi\"}\r\n0\r\n\r\n", 400 },
        { "chunk longer than its size", "3\r\n{\"message\":\"hi\"}\r\n0\r\n\r\n", 400 },
        { "chunked body over the limit", string.Concat(Enumerable.Repeat("1000\r\n" + new string(' ', 0x1000) + "\r\n", 20)) + "0\r\n\r\n", 413 },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task PostChat_MalformedChunkedBody_ClientErrorInvalidRequest(string name, string body, int status)
    {
        await using var host = StartOnKestrel(out var address);
        var answer = await SendRawAsync(address, ChunkedHead + body, hangUp: false);

        Assert.True(answer.StartsWith($"HTTP/1.1 {status} ", StringComparison.Ordinal), $"{name}: {FirstLine(answer)}");
        var problem = ProblemOf(answer);
        Assert.Equal("invalid_request", problem.GetProperty("errorType").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));
        await AssertRecordedAsync(host, "invalid_request");
    }

    [Fact]
    public async Task PostChat_BodyArrivesTooSlowly_408InvalidRequest()
    {
        await using var host = StartOnKestrel(out var address, kestrel =>
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 100, gracePeriod: TimeSpan.FromSeconds(2)));

        // Ten bytes of a hundred, then nothing: Kestrel's minimum data rate ends the body.
        var head = "POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"message\"";
        var answer = await SendRawAsync(address, head, hangUp: false);

        Assert.True(answer.StartsWith("HTTP/1.1 408 ", StringComparison.Ordinal), FirstLine(answer));
        Assert.Equal("invalid_request", ProblemOf(answer).GetProperty("errorType").GetString());
        await AssertRecordedAsync(host, "invalid_request");
    }

    [Fact]
    public async Task PostChat_ClientHangsUpMidBody_Cancelled()
    {
        await using var host = StartOnKestrel(out var address);
        var head = "POST /api/chat HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"message\"";
        await SendRawAsync(address, head, hangUp: true, host);

        await AssertRecordedAsync(host, "cancelled");
    }

    [Fact]
    public async Task PostChat_ChunkedClientHangsUpMidBody_Cancelled()
    {
        await using var host = StartOnKestrel(out var address);
        await SendRawAsync(address, ChunkedHead + "40\r\n{\"message\":", hangUp: true, host);

        await AssertRecordedAsync(host, "cancelled");
    }

    private static ChatServiceHost StartOnKestrel(out Uri address, Action<KestrelServerOptions>? kestrel = null)
    {
        var host = new ChatServiceHost(Settings(("urls", "http://127.0.0.1:0")));
        host.UseKestrel(options => kestrel?.Invoke(options));
        host.StartServer();
        var addresses = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        address = new Uri(addresses.First(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)));
        return host;
    }

    /// <summary>Writes <paramref name="request"/> as is; then either closes the socket at once, or reads the answer
    /// until the server closes the connection or sends the whole problem.</summary>
    private static async Task<string> SendRawAsync(Uri address, string request, bool hangUp, ChatServiceHost? host = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, address.Port, timeout.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token);
        await stream.FlushAsync(timeout.Token);
        if (hangUp)
        {
            // Hang up only once the chat is reading the body: a reset would discard bytes the server had not read.
            if (host is not null)
            {
                using var client = host.CreateClient();
                await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_active") >= 1);
            }

            tcp.Client.Close(0);
            return string.Empty;
        }

        var answer = new StringBuilder();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                answer.Append(Encoding.UTF8.GetString(buffer, 0, read));
                if (IsComplete(answer.ToString()))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
            // The server reset the connection after its answer.
        }

        return answer.ToString();
    }

    private static bool IsComplete(string answer)
    {
        var split = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (split < 0)
        {
            return false;
        }

        var head = answer[..split];
        var length = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        return length is not null
            ? answer.Length - split - 4 >= int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)
            : answer.EndsWith("0\r\n\r\n", StringComparison.Ordinal);
    }

    private static string FirstLine(string answer) => answer.Split("\r\n")[0];

    private static JsonElement ProblemOf(string answer)
    {
        var split = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, answer);
        Assert.Contains("application/problem+json", answer[..split], StringComparison.OrdinalIgnoreCase);
        var body = answer[(split + 4)..];
        if (answer[..split].Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static string Dechunk(string body)
    {
        var result = new StringBuilder();
        var position = 0;
        while (true)
        {
            var end = body.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(body[position..end], 16);
            if (size == 0)
            {
                return result.ToString();
            }

            result.Append(body, end + 2, size);
            position = end + 2 + size + 2;
        }
    }

    /// <summary>The one failed chat is counted as <paramref name="errorType"/> in <c>llm_errors_total</c> and the
    /// history, and nothing is counted as the provider's.</summary>
    private static async Task AssertRecordedAsync(ChatServiceHost host, string errorType)
    {
        using var client = host.CreateClient();
        await Eventually.TrueAsync(async () => (await host.ScrapeAsync(client)).Sum("llm_requests_total", ("status", "error")) == 1);

        var metrics = await host.ScrapeAsync(client);
        Assert.True(metrics.Sum("llm_errors_total", ("error_type", errorType)) >= 1, metrics.Text);
        Assert.Equal(metrics.Sum("llm_errors_total"), metrics.Sum("llm_errors_total", ("error_type", errorType)));
        Assert.Equal(0, metrics.Sum("llm_errors_total", ("step", "llm_api_call")));

        var records = await host.GetAllRecordsAsync(client);
        var record = Assert.Single(records);
        Assert.Equal("error", record.GetProperty("status").GetString());
        Assert.Equal(errorType, record.GetProperty("errorType").GetString());
    }
}
