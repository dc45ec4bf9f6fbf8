using System.Net.Http.Json;
using ChatService.Chat;
using ChatService.Configuration;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace ChatService.Hosting;

/// <summary>
/// Demo traffic (<c>ChatService:DemoTraffic=true</c> or <c>--demo</c>): a steady mix of chats sent through the service's
/// own HTTP endpoints on loopback, so that the dashboard and the metrics have live data. Some chats continue a
/// conversation, some stream, some report another model (one of them unpriced), a few fail by injection.
/// </summary>
internal sealed partial class DemoTrafficService(
    IServer server,
    IHostApplicationLifetime lifetime,
    IOptions<ChatServiceOptions> options,
    ILogger<DemoTrafficService> logger) : BackgroundService
{
    private const int MaxInFlight = 4;

    // Not disposed: chats still in flight release it while the service stops (it holds no wait handle).
    private readonly SemaphoreSlim inFlight = new(MaxInFlight);

    private static readonly string[] Prompts =
    [
        "How do I find which step of my request is slow?",
        "What does a token cost?",
        "Explain time to first token.",
        "Why do LLM calls fail with 429?",
        "Summarize the benefits of streaming replies.",
        "How large should my context window be?",
        "What is a good p95 latency for a chat endpoint?",
        "How can I cut the input cost of long conversations?",
        "Write a haiku about observability.",
        "What is OpenTelemetry?",
    ];

    private static readonly string[] Faults = ["rate_limited", "provider_unavailable", "content_filtered", "network"];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await WaitForStartAsync(lifetime, stoppingToken).ConfigureAwait(false))
        {
            return;
        }

        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
        if (address is null)
        {
            LogNoAddress(logger);
            return;
        }

        var baseAddress = new Uri(LoopbackAddress.Browsable(address));
        var period = TimeSpan.FromSeconds(1 / options.Value.DemoRequestsPerSecond);
        LogStarted(logger, baseAddress, options.Value.DemoRequestsPerSecond);

        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        using var timer = new PeriodicTimer(period);
        var conversations = new List<string>();
        long sequence = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!await this.inFlight.WaitAsync(0, stoppingToken).ConfigureAwait(false))
                {
                    continue; // Never more than a few chats at once: the rate stays bounded.
                }

                var (path, body) = NextChat(sequence++, conversations);
                _ = this.SendAsync(client, path, body, conversations, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static async Task<bool> WaitForStartAsync(IHostApplicationLifetime lifetime, CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStarted = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var onStopping = stoppingToken.Register(() => started.TrySetCanceled(stoppingToken));
        try
        {
            await started.Task.ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static (string Path, ChatRequestBody Body) NextChat(long sequence, List<string> conversations)
    {
        var prompt = Prompts[sequence % Prompts.Length];
        var message = (sequence % 20) switch
        {
            3 => $"/fault {Faults[sequence / 20 % Faults.Length]}",
            7 => $"/model gpt-4o {prompt}",
            11 => $"/model my-unpriced-model {prompt}",
            13 => $"/model gpt-4.1-mini {prompt}",
            _ => prompt,
        };

        string? conversationId = null;
        lock (conversations)
        {
            if (conversations.Count > 0 && sequence % 3 == 0)
            {
                conversationId = conversations[(int)(sequence / 3 % conversations.Count)];
            }
        }

        var path = sequence % 2 == 0 ? ChatEndpoints.StreamPath : ChatEndpoints.ChatPath;
        return (path, new ChatRequestBody(message, conversationId));
    }

    private async Task SendAsync(HttpClient client, string path, ChatRequestBody body, List<string> conversations, CancellationToken stoppingToken)
    {
        try
        {
            using var response = await client.PostAsJsonAsync(path, body, stoppingToken).ConfigureAwait(false);
            if (path == ChatEndpoints.ChatPath && response.IsSuccessStatusCode)
            {
                var reply = await response.Content.ReadFromJsonAsync<ChatReply>(stoppingToken).ConfigureAwait(false);
                if (reply is not null && body.ConversationId is null)
                {
                    lock (conversations)
                    {
                        conversations.Add(reply.ConversationId);
                        if (conversations.Count > 20)
                        {
                            conversations.RemoveAt(0);
                        }
                    }
                }
            }
            else
            {
                // Read the event stream to its end, as a browser would.
                await response.Content.ReadAsStringAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (HttpRequestException ex)
        {
            LogSendFailed(logger, ex.Message);
        }
        finally
        {
            this.inFlight.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo traffic: {Rate} chats/s to {BaseAddress}")]
    private static partial void LogStarted(ILogger logger, Uri baseAddress, double rate);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Demo traffic: the server listens on no http address; no demo traffic is sent")]
    private static partial void LogNoAddress(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Demo traffic: a chat could not be sent: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string reason);
}
