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
/// conversation, some stream, some report another model (one of them unpriced), a few fail by injection, and a few ask
/// for the time or an order, so that the model calls a tool (one with a time zone the tool rejects). Every chat
/// is sent as one of a few users of three tenants (<see cref="UserHeader"/>, <see cref="TenantHeader"/>, which
/// <c>LlmApm:Attribution</c> in appsettings.json reads), one tenant busier than the others, so the Spend page has
/// something to rank.
/// </summary>
internal sealed partial class DemoTrafficService(
    IServer server,
    IHostApplicationLifetime lifetime,
    IOptions<ChatServiceOptions> options,
    ILogger<DemoTrafficService> logger) : BackgroundService
{
    /// <summary>The header the demo's user id travels in (<c>LlmApm:Attribution:UserHeader</c>).</summary>
    public const string UserHeader = "X-User-Id";

    /// <summary>The header the demo's tenant id travels in (<c>LlmApm:Attribution:TenantHeader</c>).</summary>
    public const string TenantHeader = "X-Tenant-Id";

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
        "What time is it in Europe/Paris?",
        "Where is order 1001? It should have shipped.",
        "What time is it in Atlantis/Central?",
    ];

    private static readonly string[] Faults = ["rate_limited", "provider_unavailable", "content_filtered", "network"];

    /// <summary>The demo's users and their tenants.</summary>
    internal static readonly DemoPersona[] Personas =
    [
        new("ann@acme.example", "acme"),
        new("bob@acme.example", "acme"),
        new("cyd@globex.example", "globex"),
        new("dee@globex.example", "globex"),
        new("eve@initech.example", "initech"),
    ];

    // Which persona starts each chat of a cycle of seven: acme four, globex two, initech one. Seven is prime to the
    // stream/non-stream alternation and to the cycle of twenty of the model and fault directives, so every persona
    // gets some of each.
    private static readonly int[] PersonaCycle = [0, 2, 1, 0, 4, 3, 0];

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
        var conversations = new List<(string Id, DemoPersona Persona)>();
        long sequence = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!await this.inFlight.WaitAsync(0, stoppingToken).ConfigureAwait(false))
                {
                    continue; // Never more than a few chats at once: the rate stays bounded.
                }

                var chat = NextChat(sequence++, conversations);
                _ = this.SendAsync(client, chat, conversations, stoppingToken);
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

    /// <summary>The chat number <paramref name="sequence"/> of the demo: its path, body and who sends it. A chat that
    /// continues a conversation is sent by the persona that started it.</summary>
    internal static DemoChat NextChat(long sequence, List<(string Id, DemoPersona Persona)> conversations)
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
        var persona = Personas[PersonaCycle[sequence % PersonaCycle.Length]];
        lock (conversations)
        {
            if (conversations.Count > 0 && sequence % 3 == 0)
            {
                (conversationId, persona) = conversations[(int)(sequence / 3 % conversations.Count)];
            }
        }

        var path = sequence % 2 == 0 ? ChatEndpoints.StreamPath : ChatEndpoints.ChatPath;
        return new DemoChat(path, new ChatRequestBody(message, conversationId), persona);
    }

    private async Task SendAsync(HttpClient client, DemoChat chat, List<(string Id, DemoPersona Persona)> conversations, CancellationToken stoppingToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, chat.Path) { Content = JsonContent.Create(chat.Body) };
            request.Headers.Add(UserHeader, chat.Persona.User);
            request.Headers.Add(TenantHeader, chat.Persona.Tenant);
            using var response = await client.SendAsync(request, stoppingToken).ConfigureAwait(false);
            if (chat.Path == ChatEndpoints.ChatPath && response.IsSuccessStatusCode)
            {
                var reply = await response.Content.ReadFromJsonAsync<ChatReply>(stoppingToken).ConfigureAwait(false);
                if (reply is not null && chat.Body.ConversationId is null)
                {
                    lock (conversations)
                    {
                        conversations.Add((reply.ConversationId, chat.Persona));
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

/// <summary>A user of the demo traffic and the tenant it belongs to.</summary>
internal sealed record DemoPersona(string User, string Tenant);

/// <summary>One chat of the demo traffic: where it goes, what it says and who sends it.</summary>
internal sealed record DemoChat(string Path, ChatRequestBody Body, DemoPersona Persona);
