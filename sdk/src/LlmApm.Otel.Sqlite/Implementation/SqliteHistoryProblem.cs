using Microsoft.Data.Sqlite;

namespace LlmApm.Otel.Sqlite.Implementation;

/// <summary>Turns what went wrong with the database into words for an operator: the cause and what to do. Never
/// includes record content: SQLite's messages name the failing operation only.</summary>
internal static class SqliteHistoryProblem
{
    // SQLite's primary result codes (the low byte of an extended code).
    private const int Perm = 3;
    private const int Busy = 5;
    private const int Locked = 6;
    private const int ReadOnly = 8;
    private const int IoErr = 10;
    private const int Corrupt = 11;
    private const int Full = 13;
    private const int CantOpen = 14;
    private const int NotADb = 26;

    private const string MoveAway = "stop the service, move the file (and its -wal and -shm files) aside to keep it for inspection, and start again: a new database is created";

    /// <summary>Whether the exception is the database's or the file system's, and not a bug to let through.</summary>
    public static bool IsDatabaseProblem(Exception exception)
        => exception is SqliteException or IOException or UnauthorizedAccessException or NewerSchemaException
            or InvalidDataException or FormatException or System.Text.Json.JsonException;

    /// <summary>The cause and the fix, as one sentence each: "cause; fix".</summary>
    public static (string Cause, string Fix) Describe(Exception exception, TimeSpan openTimeout)
    {
        switch (exception)
        {
            case NewerSchemaException newer:
                return (newer.Message, "upgrade LlmApm.Otel.Sqlite, or set LlmApm:Sqlite:Path to another file");
            case UnauthorizedAccessException:
                return ("its folder cannot be written by this process", "make the folder writable for the service's user, or set LlmApm:Sqlite:Path to a writable place");
            case SqliteException sqlite:
                return (sqlite.SqliteErrorCode & 0xFF) switch
                {
                    NotADb => ("the file is not a SQLite database (damaged, or another kind of file)", MoveAway),
                    Corrupt => ("the database is damaged (" + sqlite.Message.TrimEnd('.') + ")", MoveAway),
                    Busy or Locked => ($"another process has held a lock on it for more than {openTimeout.TotalSeconds:0.#} s",
                        "stop the other process (only one service may use a history file), or set LlmApm:Sqlite:Path to another file"),
                    ReadOnly or CantOpen or Perm => ("the file or its folder cannot be written by this process",
                        "make the folder writable for the service's user, or set LlmApm:Sqlite:Path to a writable place"),
                    Full => ("the disk is full", "free space on the disk, or set LlmApm:Sqlite:RetentionCount / RetentionAge lower"),
                    IoErr => ("the disk reports an I/O error (" + sqlite.Message.TrimEnd('.') + ")", "check the disk and the file system"),
                    _ => ("SQLite reports: " + sqlite.Message.TrimEnd('.'), "check the file, or set LlmApm:Sqlite:Path to another file"),
                };
            case IOException io:
                return ("the file system reports: " + io.Message.TrimEnd('.'), "check the folder, or set LlmApm:Sqlite:Path to another place");
            default:
                return ("its content cannot be read (" + exception.GetType().Name + ")", MoveAway);
        }
    }
}
