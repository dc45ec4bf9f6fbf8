using System.Net.Http.Json;
using ChatService.Chat;
using ChatService.Configuration;
using ChatService.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatService.Tests;

/// <summary>The demo traffic, sent over loopback to a server that records what arrives: every chat names a user and a
/// tenant in the headers that <c>LlmApm:Attribution</c> reads, several of each, and a conversation keeps its user.</summary>
public sealed class DemoTrafficServiceTests
{
    [Fact]
    public async Task ExecuteAsync_Running_SendsEveryChatAsAUserOfATenant()
    {
        var received = new List<(string Path, string User, string Tenant, string? ConversationId)>();
        var conversations = new Dictionary<string, string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var receiver = builder.Build();
        receiver.MapPost("/api/chat/{**rest}", async (HttpContext context) =>
        {
            var body = await context.Request.ReadFromJsonAsync<ChatRequestBody>();
            var user = context.Request.Headers[DemoTrafficService.UserHeader].ToString();
            var tenant = context.Request.Headers[DemoTrafficService.TenantHeader].ToString();
            var id = body?.ConversationId ?? Guid.NewGuid().ToString("N");
            lock (received)
            {
                received.Add((context.Request.Path, user, tenant, body?.ConversationId));
                conversations.TryAdd(id, user);
            }

            return Results.Json(new ChatReply(id, "hi", "r", "t", "gpt-4o-mini", new ChatUsage(1, 1, 0, 0, false), 0.001m));
        });
        await receiver.StartAsync();
        var address = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        using var demo = new DemoTrafficService(
            new AddressOnlyServer(address),
            new StartedLifetime(),
            Options.Create(new ChatServiceOptions { DemoTraffic = true, DemoRequestsPerSecond = 5 }),
            NullLogger<DemoTrafficService>.Instance);
        await demo.StartAsync(CancellationToken.None);
        await Infrastructure.Eventually.TrueAsync(
            () =>
            {
                lock (received)
                {
                    return received.Count >= 20;
                }
            },
            TimeSpan.FromSeconds(60));
        await demo.StopAsync(CancellationToken.None);
        await receiver.StopAsync();

        List<(string Path, string User, string Tenant, string? ConversationId)> chats;
        lock (received)
        {
            chats = [.. received];
        }

        Assert.All(chats, c => Assert.False(string.IsNullOrEmpty(c.User) || string.IsNullOrEmpty(c.Tenant), $"{c.Path} came without a user or a tenant"));
        Assert.All(chats, c => Assert.EndsWith("@" + c.Tenant + ".example", c.User, StringComparison.Ordinal));
        Assert.Equal(["acme", "globex", "initech"], chats.Select(c => c.Tenant).Distinct().Order(StringComparer.Ordinal));
        Assert.True(chats.Select(c => c.User).Distinct().Count() >= 4);
        Assert.Contains(chats, c => c.Path == "/api/chat/stream");

        // acme sends the most, so that the Spend page has a ranking.
        var byTenant = chats.GroupBy(c => c.Tenant).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(byTenant["acme"] > byTenant["initech"], string.Join(", ", byTenant));

        // A chat that continues a conversation is sent by the user who started it.
        var continued = chats.Where(c => c.ConversationId is not null).ToList();
        Assert.NotEmpty(continued);
        Assert.All(continued, c => Assert.Equal(conversations[c.ConversationId!], c.User));
    }

    /// <summary>A server that is not one: it only says where the real one listens, as Kestrel's feature does.</summary>
    private sealed class AddressOnlyServer : IServer
    {
        public AddressOnlyServer(string address)
        {
            var addresses = new ServerAddressesFeature();
            addresses.Addresses.Add(address);
            this.Features.Set<IServerAddressesFeature>(addresses);
        }

        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }

    private sealed class StartedLifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted { get; } = new(canceled: true);

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
