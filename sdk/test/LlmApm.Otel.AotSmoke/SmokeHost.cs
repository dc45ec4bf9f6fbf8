using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LlmApm.Otel.AotSmoke;

/// <summary>The slim ASP.NET Core host of the smoke test, configured the way a user would: options from
/// configuration (bound by the configuration binding source generator), the SQLite history, the endpoints.</summary>
internal static class SmokeHost
{
    /// <summary>The cost of one fake call at the configured price: (12 x 2 + 3 x 4) / 1,000,000 dollars.</summary>
    public const decimal ExpectedCostUsd = 0.000036m;

    public static WebApplication Build(string database)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        // Warnings and errors only: an unhandled exception in an endpoint shows up beside the failed check.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmApm:CaptureMessageContent"] = "true",
            ["LlmApm:HistoryCapacity"] = "100",
            ["LlmApm:Prices:aot-fake-model:InputPerMillion"] = "2",
            ["LlmApm:Prices:aot-fake-model:OutputPerMillion"] = "4",
            ["LlmApm:Sqlite:Path"] = database,
            ["LlmApm:Sqlite:FlushInterval"] = "00:00:00.100",
        });
        builder.AddLlmApm();
        builder.AddLlmApmSqliteHistory();
        builder.Services.AddLlmApmEndpoints();

        var app = builder.Build();
        app.MapLlmApm();
        return app;
    }
}
