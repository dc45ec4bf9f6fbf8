using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;

namespace LlmApm.Otel.Sqlite.Implementation;

/// <summary>The background writer's side of the database: one connection of its own, kept open between batches with
/// its insert commands prepared. Used by one thread at a time. After a failure the connection is closed, and the next
/// batch opens a new one.</summary>
/// <remarks>Measured (docs/benchmarks.md): opening a pooled connection, its two pragmas and preparing both inserts took
/// about 1 ms a batch, 2% of the writer's time at 500 records a batch; a connection kept open saves it.</remarks>
internal sealed class SqliteBatchWriter(Func<SqliteConnection> connect) : IDisposable
{
    private SqliteConnection? connection;
    private SqliteCommand? insert;
    private SqliteCommand? insertScore;
    private string pragmas = string.Empty;

    /// <summary>Writes <paramref name="batch"/> in one transaction; on failure nothing of it is written and the
    /// exception is the caller's.</summary>
    /// <param name="batch">The records.</param>
    /// <param name="connectionPragmas">The test hook's pragmas: a change opens a new connection, which runs them.</param>
    public void Write(List<LlmRequestRecord> batch, string connectionPragmas)
    {
        if (this.connection is not null && !ReferenceEquals(this.pragmas, connectionPragmas))
        {
            this.Close();
        }

        try
        {
            if (this.connection is null)
            {
                this.pragmas = connectionPragmas;
                this.connection = connect();
                this.insert = SqliteHistorySchema.CreateInsert(this.connection, null);
                this.insertScore = SqliteHistorySchema.CreateScoreInsert(this.connection, null);
            }

            using var transaction = this.connection.BeginTransaction();
            this.insert!.Transaction = transaction;
            this.insertScore!.Transaction = transaction;
            foreach (var record in batch)
            {
                SqliteHistorySchema.Bind(this.insert, record);
                this.insert.ExecuteNonQuery();

                // The scores given while the request ran; later ones are written by AddScore.
                foreach (var score in record.Scores)
                {
                    SqliteHistorySchema.WriteScore(this.insertScore, record.Seq, score);
                }
            }

            transaction.Commit();
        }
        catch
        {
            // A connection that failed mid-write may hold a broken transaction or a stale cache: start afresh.
            this.Close();
            throw;
        }
    }

    public void Dispose() => this.Close();

    private void Close()
    {
        this.insert?.Dispose();
        this.insertScore?.Dispose();
        this.connection?.Dispose();
        this.insert = this.insertScore = null;
        this.connection = null;
    }
}
