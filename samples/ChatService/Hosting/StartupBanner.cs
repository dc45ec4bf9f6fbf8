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
            var history = app.Services.GetRequiredService<HistoryStorage>();
            if (history.Problem is not null)
            {
                LogHistoryInMemory(logger, history.Problem);
            }
            else if (history.DatabasePath is not null)
            {
                LogHistoryDatabase(logger, history.DatabasePath);
            }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Request history: SQLite database {Path}")]
    private static partial void LogHistoryDatabase(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Request history in memory only (lost at restart): {Reason}")]
    private static partial void LogHistoryInMemory(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat: {Root}/llm-apm/#/chat  Dashboard: {Root}/llm-apm/  Metrics: {Root}/metrics")]
    private static partial void LogAddress(ILogger logger, string root);
}
