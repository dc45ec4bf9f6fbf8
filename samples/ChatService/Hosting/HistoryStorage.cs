using ChatService.Configuration;

namespace ChatService.Hosting;

/// <summary>
/// Where the request history lives: by default a SQLite database in the service's data folder
/// (<c>ChatService:DataPath</c>, <c>data</c> under the content root), so that the dashboard shows the requests from
/// before a restart. <c>LlmApm:Sqlite:Path</c> names another file (relative to the content root);
/// <c>ChatService:DurableHistory=false</c> keeps the history in memory only. When neither path was configured and the
/// default folder cannot be written (a read-only container image), the history stays in memory and the start-up log
/// says why. <c>ChatService:HistoryStore=postgresql</c> keeps it in the PostgreSQL database of
/// <c>ConnectionStrings:LlmApmHistory</c>, shared by every replica. A configured database that cannot be opened (damaged, not writable, locked, newer schema) leaves the
/// service running on the in-memory history with <c>/health</c> Degraded, unless <c>LlmApm:Sqlite:Required=true</c>.
/// </summary>
internal sealed record HistoryStorage(string? DatabasePath, string? Problem)
{
    public const string FileName = "llm-apm-history.db";

    public static HistoryStorage AddChatServiceHistory(WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var section = configuration.GetSection(ChatServiceOptions.SectionName);
        if (!section.GetValue(nameof(ChatServiceOptions.DurableHistory), defaultValue: true))
        {
            return Register(builder, new HistoryStorage(null, null));
        }

        if (string.Equals(section[nameof(ChatServiceOptions.HistoryStore)], "postgresql", StringComparison.OrdinalIgnoreCase))
        {
            // Shared by every replica; a database that is down does not hold the start (records wait, then are written).
            builder.AddLlmApmPostgreSqlHistory();
            return Register(builder, new HistoryStorage("PostgreSQL (ConnectionStrings:" + LlmApmPostgreSqlServiceCollectionExtensions.ConnectionStringName + ")", null));
        }

        var contentRoot = builder.Environment.ContentRootPath;
        var dataPath = section[nameof(ChatServiceOptions.DataPath)];
        var sqlitePath = configuration[LlmApmSqliteServiceCollectionExtensions.ConfigurationSectionName + ":Path"];
        var configured = !string.IsNullOrWhiteSpace(dataPath) || !string.IsNullOrWhiteSpace(sqlitePath);
        var folder = Path.GetFullPath(Path.Combine(contentRoot, string.IsNullOrWhiteSpace(dataPath) ? "data" : dataPath));
        var file = string.IsNullOrWhiteSpace(sqlitePath)
            ? Path.Combine(folder, FileName)
            : Path.GetFullPath(Path.Combine(contentRoot, sqlitePath));

        if (!configured && !CanWrite(Path.GetDirectoryName(file)!, out var reason))
        {
            return Register(builder, new HistoryStorage(null, $"the data folder {Path.GetDirectoryName(file)} cannot be written ({reason}); set ChatService:DataPath to a writable folder"));
        }

        builder.AddLlmApmSqliteHistory(o => o.Path = file);
        return Register(builder, new HistoryStorage(file, null));
    }

    private static HistoryStorage Register(WebApplicationBuilder builder, HistoryStorage storage)
    {
        builder.Services.AddSingleton(storage);
        return storage;
    }

    private static bool CanWrite(string folder, out string? reason)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".write-probe-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            reason = null;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            reason = ex.GetType().Name;
            return false;
        }
    }
}
