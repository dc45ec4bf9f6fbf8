using ChatService.Configuration;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace ChatService.Hosting;

/// <summary>Logs, once the server listens, where the chat and the dashboard are.</summary>
internal static partial class StartupBanner
{
    public static void LogAddressesOnStart(this WebApplication app)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ChatService");
            var llm = app.Services.GetRequiredService<IOptions<LlmOptions>>().Value;
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
            LogProvider(logger, llm.Provider, llm.Model);
            if (!logger.IsEnabled(LogLevel.Information))
            {
                return;
            }

            foreach (var address in addresses ?? [])
            {
                var root = LoopbackAddress.Browsable(address).TrimEnd('/');
                LogAddress(logger, root);
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "LLM provider {Provider}, model {Model}")]
    private static partial void LogProvider(ILogger logger, LlmProvider provider, string model);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat: {Root}/llm-apm/#/chat  Dashboard: {Root}/llm-apm/  Metrics: {Root}/metrics")]
    private static partial void LogAddress(ILogger logger, string root);
}
