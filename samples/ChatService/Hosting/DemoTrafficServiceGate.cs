using ChatService.Configuration;
using Microsoft.Extensions.Options;

namespace ChatService.Hosting;

/// <summary>Runs <see cref="DemoTrafficService"/> only when <c>ChatService:DemoTraffic</c> is on.</summary>
internal sealed class DemoTrafficServiceGate(IServiceProvider services, IOptions<ChatServiceOptions> options) : IHostedService, IDisposable
{
    private DemoTrafficService? demo;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.DemoTraffic)
        {
            return Task.CompletedTask;
        }

        this.demo = ActivatorUtilities.CreateInstance<DemoTrafficService>(services);
        return this.demo.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => this.demo?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    public void Dispose() => this.demo?.Dispose();
}
