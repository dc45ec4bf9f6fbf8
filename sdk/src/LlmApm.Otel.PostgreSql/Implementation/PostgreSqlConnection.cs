using System.Net.Sockets;
using Npgsql;

namespace LlmApm.Otel.PostgreSql.Implementation;

/// <summary>The connection string, the data source built from it, and what a failure means: a database that is
/// down (wait and retry) or one that refuses the work (drop and say why).</summary>
internal static class PostgreSqlConnection
{
    /// <summary>The name under <c>ConnectionStrings</c> read when no connection string is set in the options.</summary>
    public const string ConnectionStringName = "LlmApmHistory";

    /// <summary>What is wrong with <paramref name="connectionString"/>, or <c>null</c> when Npgsql accepts it.</summary>
    public static string? Check(string connectionString)
    {
        try
        {
            _ = new NpgsqlConnectionStringBuilder(connectionString);
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            return ex.Message.TrimEnd('.');
        }
    }

    /// <summary>The slim builder keeps the package trimmable: the store reads and writes text, numbers, booleans,
    /// numerics, timestamps and arrays of them only, which it has without the JSON, range or dynamic type plugins (the
    /// properties' jsonb is written and read as its text).</summary>
    public static NpgsqlDataSource Create(string connectionString)
    {
        var builder = new NpgsqlSlimDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.ApplicationName ??= "llm-apm-history";

        // Arrays: the scores of a page are read in one query, by the page's numbers (request_seq = ANY($1)).
        builder.EnableArrays();
        return builder.Build();
    }

    /// <summary>Where the database is, for the log and the health: host, port and database, never the password.</summary>
    public static string Describe(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return $"{builder.Host}:{builder.Port}/{builder.Database}";
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            return "(invalid connection string)";
        }
    }

    /// <summary>Whether the exception is the database's or the network's, and not a bug to let through.</summary>
    public static bool IsDatabaseProblem(Exception exception)
        => exception is NpgsqlException or SocketException or IOException or TimeoutException or NewerSchemaException
            or InvalidOperationException { Source: "Npgsql" };

    /// <summary>Whether waiting may help: the server is down, restarting, unreachable or out of connections.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        NewerSchemaException => false,
        PostgresException pg => pg.IsTransient || pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState.StartsWith("08", StringComparison.Ordinal)
            || pg.SqlState == PostgresErrorCodes.TooManyConnections || pg.SqlState == PostgresErrorCodes.CannotConnectNow,
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        _ => exception is SocketException or IOException or TimeoutException,
    };

    /// <summary>The cause, in words for an operator, without record content: Npgsql's messages name the operation.</summary>
    public static string Cause(Exception exception) => exception switch
    {
        NewerSchemaException newer => newer.Message,
        PostgresException pg => $"PostgreSQL reports {pg.SqlState}: {pg.MessageText.TrimEnd('.')}",
        NpgsqlException { InnerException: SocketException socket } => $"it cannot be reached ({socket.SocketErrorCode})",
        _ => $"{exception.GetType().Name}: {exception.Message.TrimEnd('.')}",
    };
}
