using System.Text.Json;
using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace LlmApm.Otel.Sqlite.Implementation;

/// <summary>Decodes rows into records, and skips a row it cannot decode (its steps or properties are not the JSON this
/// package writes, its cost is not a number: edited by hand, or damaged in a way SQLite does not see). One bad row must
/// not take a page, the summary's start-up read or the store down: the row is counted, the log says so once with its
/// number and the cause, and each one is an <c>LlmApm-Sqlite</c> event. The rest of the page is read.</summary>
internal sealed partial class SqliteRowDecoder(ILogger logger, string path)
{
    private long skipped;

    /// <summary>Gets how many rows were skipped since the store was made.</summary>
    public long Skipped => Interlocked.Read(ref this.skipped);

    /// <summary>Adds the decodable rows of <paramref name="reader"/> (selected with
    /// <see cref="SqliteHistorySchema.Columns"/>) to <paramref name="into"/>.</summary>
    /// <returns>The rows read, skipped ones included, and the lowest seq among them (<see cref="long.MaxValue"/> when
    /// none): a page that skipped rows reads on below it.</returns>
    public (int Rows, long LowestSeq) ReadAll(SqliteDataReader reader, List<LlmRequestRecord> into)
    {
        var rows = 0;
        var lowest = long.MaxValue;
        while (reader.Read())
        {
            rows++;
            lowest = Math.Min(lowest, reader.GetInt64(0));
            if (this.TryDecode(reader, SqliteHistorySchema.Read, 0, out var record))
            {
                into.Add(record);
            }
        }

        return (rows, lowest);
    }

    /// <summary>Decodes the current row with <paramref name="decode"/>; a row it cannot decode is counted and
    /// reported (with the row's seq, read from <paramref name="seqOrdinal"/>), and <c>false</c> returned.</summary>
    public bool TryDecode(SqliteDataReader reader, Func<SqliteDataReader, LlmRequestRecord> decode, int seqOrdinal, out LlmRequestRecord record)
    {
        try
        {
            record = decode(reader);
            return true;
        }
        catch (Exception ex) when (IsUndecodable(ex))
        {
            var seq = reader.GetInt64(seqOrdinal);
            if (Interlocked.Increment(ref this.skipped) == 1)
            {
                LogRowSkipped(logger, System.IO.Path.GetFullPath(path), seq, ex.GetType().Name);
            }

            SqliteHistoryEventSource.Log.Skipped(seq, ex.GetType().Name);
            record = null!;
            return false;
        }
    }

    // What decoding a row's text throws: steps or properties that are not what the core's codecs read (JsonException
    // only), and the row's own columns: numbers or ids that do not parse or fit, a column of another type. Never
    // SQLite's own errors.
    private static bool IsUndecodable(Exception exception)
        => exception is JsonException or InvalidOperationException or IndexOutOfRangeException or FormatException
            or OverflowException or InvalidCastException or ArgumentException or KeyNotFoundException;

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning,
        Message = "The request history database '{Path}' has a row that cannot be read (seq {Seq}, {ExceptionType}): it is skipped on every page and in the summary, and counted in the LlmApm-Sqlite event source. Later bad rows are not logged.")]
    private static partial void LogRowSkipped(ILogger logger, string path, long seq, string exceptionType);
}
