using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Sqlite;

/// <summary>
/// A durable history: the newest records in the in-memory ring for the live view, and every record in a SQLite
/// database (WAL mode), written in batches by a background writer through a bounded queue. <see cref="Add"/> never
/// waits: when the queue is full the record is counted in <c>llm_history_dropped_total</c>.
/// </summary>
public sealed class SqliteLlmHistoryStore : ILlmHistoryStore, IAsyncDisposable, IDisposable
{
    /// <summary>The schema version this store writes (<c>PRAGMA user_version</c>).</summary>
    public const int SchemaVersion = 1;

    private static readonly TimeSpan RetentionEvery = TimeSpan.FromMinutes(1);

    private readonly SqliteHistoryOptions options;
    private readonly InMemoryLlmHistoryStore recent;
    private readonly string connectionString;
    private readonly Channel<LlmRequestRecord> queue;
    private readonly Task writer;
    private long pending;
    private int disposed;

    /// <summary>Initializes a new instance of the <see cref="SqliteLlmHistoryStore"/> class: opens (or creates) the
    /// database, checks its schema version and loads the newest records into memory.</summary>
    /// <param name="options">The store's options.</param>
    /// <param name="apmOptions">LLM-APM's options; <c>HistoryCapacity</c> sets how many records stay in memory.</param>
    public SqliteLlmHistoryStore(IOptions<SqliteHistoryOptions> options, IOptions<LlmApmOptions> apmOptions)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(apmOptions);
        this.options = options.Value;
        Validate(this.options);
        this.recent = new InMemoryLlmHistoryStore(Math.Max(1, apmOptions.Value.HistoryCapacity));
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(this.options.Path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        this.connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = this.options.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
        }.ToString();

        using (var connection = this.Open())
        {
            Migrate(connection);
            this.recent.Restore(ReadNewest(connection, this.recent.Capacity));
        }

        this.queue = Channel.CreateBounded<LlmRequestRecord>(new BoundedChannelOptions(this.options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        this.writer = Task.Run(this.WriteLoopAsync);
    }

    /// <summary>Gets the database file.</summary>
    public string Path => this.options.Path;

    /// <summary>Gets the number of records waiting to be written.</summary>
    public long Pending => Interlocked.Read(ref this.pending);

    /// <inheritdoc/>
    public void Add(LlmRequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        this.recent.Add(record);
        if (this.queue.Writer.TryWrite(record))
        {
            Interlocked.Increment(ref this.pending);
            return;
        }

        LlmApmInstruments.HistoryDropped.Add(1);
        LlmApmEventSource.Log.HistoryDropped("the SQLite write queue is full");
    }

    /// <inheritdoc/>
    public LlmRequestRecord? Find(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (this.recent.Find(id) is { } record)
        {
            return record;
        }

        using var connection = this.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, record FROM requests WHERE id = $id COLLATE NOCASE LIMIT 1";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    /// <inheritdoc/>
    public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, LlmHistoryQuery.MaxLimit);
        var result = new List<LlmRequestRecord>(this.recent.Query(query));
        var oldestInMemory = this.recent.Oldest()?.Seq ?? long.MaxValue;
        if (result.Count >= limit || oldestInMemory <= 1)
        {
            return result;
        }

        // Older pages come from the database: below the oldest record still in memory and below the cursor.
        var below = Math.Min(query.Before ?? long.MaxValue, result.Count > 0 ? result[^1].Seq : oldestInMemory);
        below = Math.Min(below, oldestInMemory);
        using var connection = this.Open();
        using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT seq, record FROM requests WHERE seq < $below");
        command.Parameters.AddWithValue("$below", below);
        if (query.Status is not null)
        {
            sql.Append(" AND status = $status");
            command.Parameters.AddWithValue("$status", query.Status);
        }

        if (query.Model is not null)
        {
            sql.Append(" AND model = $model");
            command.Parameters.AddWithValue("$model", query.Model);
        }

        if (query.Route is not null)
        {
            sql.Append(" AND route = $route");
            command.Parameters.AddWithValue("$route", query.Route);
        }

        if (!string.IsNullOrEmpty(query.Q))
        {
            sql.Append(" AND (id LIKE $q ESCAPE '\\' OR trace_id LIKE $q ESCAPE '\\')");
            command.Parameters.AddWithValue("$q", EscapeLike(query.Q.ToLowerInvariant()) + "%");
        }

        sql.Append(" ORDER BY seq DESC LIMIT $limit");
        command.Parameters.AddWithValue("$limit", limit - result.Count);
        command.CommandText = sql.ToString();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result.Add(Read(reader));
        }

        return result;
    }

    /// <inheritdoc/>
    public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from)
    {
        var inMemory = this.recent.Since(from);
        var oldest = this.recent.Oldest();
        if (oldest is null || oldest.Seq <= 1 || oldest.StartTime < from)
        {
            return inMemory;
        }

        using var connection = this.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, record FROM requests WHERE seq < $below AND start_time_ms >= $from ORDER BY seq";
        command.Parameters.AddWithValue("$below", oldest.Seq);
        command.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds());
        var result = new List<LlmRequestRecord>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                result.Add(Read(reader));
            }
        }

        result.AddRange(inMemory);
        return result;
    }

    /// <summary>Waits until every record added so far is written, or <paramref name="timeout"/> passes.</summary>
    /// <param name="timeout">The longest wait.</param>
    /// <returns><c>true</c> when nothing is left to write.</returns>
    public async Task<bool> FlushAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (this.Pending > 0 && DateTime.UtcNow < deadline && !this.writer.IsCompleted)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }

        return this.Pending == 0;
    }

    /// <summary>Writes what is queued (up to five seconds) and stops the writer.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref this.disposed, 1) != 0)
        {
            return;
        }

        this.queue.Writer.TryComplete();
        await Task.WhenAny(this.writer, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        SqliteConnection.ClearAllPools();
    }

    /// <summary>Writes what is queued (up to five seconds) and stops the writer.</summary>
    public void Dispose() => this.DisposeAsync().AsTask().GetAwaiter().GetResult();

    internal static void Migrate(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
        command.CommandText = "PRAGMA user_version;";
        var version = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException(
                $"The history database '{connection.DataSource}' has schema version {version}, newer than this version of LlmApm.Otel.Sqlite supports ({SchemaVersion}). Upgrade the package or point LlmApm:Sqlite:Path to another file.");
        }

        if (version == SchemaVersion)
        {
            return;
        }

        using var transaction = connection.BeginTransaction();
        command.Transaction = transaction;
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS requests (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL,
                start_time_ms INTEGER NOT NULL,
                status TEXT NOT NULL,
                model TEXT,
                route TEXT NOT NULL,
                trace_id TEXT NOT NULL,
                record TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS ix_requests_id ON requests (id COLLATE NOCASE);
            CREATE INDEX IF NOT EXISTS ix_requests_start ON requests (start_time_ms);
            PRAGMA user_version = 1;
            """;
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    private static void Validate(SqliteHistoryOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            throw new OptionsValidationException(nameof(SqliteHistoryOptions), typeof(SqliteHistoryOptions), ["LlmApm:Sqlite:Path must name a file."]);
        }

        if (options.FlushInterval <= TimeSpan.Zero || options.BatchSize < 1 || options.QueueCapacity < 1 || options.RetentionCount < 1 || options.RetentionAge <= TimeSpan.Zero)
        {
            throw new OptionsValidationException(nameof(SqliteHistoryOptions), typeof(SqliteHistoryOptions),
                ["LlmApm:Sqlite: FlushInterval, BatchSize, QueueCapacity, RetentionCount and RetentionAge must be positive."]);
        }
    }

    private static List<LlmRequestRecord> ReadNewest(SqliteConnection connection, int count)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT seq, record FROM requests ORDER BY seq DESC LIMIT $count";
        command.Parameters.AddWithValue("$count", count);
        var result = new List<LlmRequestRecord>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result.Add(Read(reader));
        }

        return result;
    }

    private static LlmRequestRecord Read(SqliteDataReader reader)
    {
        var record = JsonSerializer.Deserialize(reader.GetString(1), SqliteJsonContext.Default.LlmRequestRecord)
            ?? throw new InvalidDataException("A history row holds no record.");
        record.Seq = reader.GetInt64(0);
        return record;
    }

    private static string EscapeLike(string value)
        => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(this.connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;";
        command.ExecuteNonQuery();
        return connection;
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<LlmRequestRecord>(this.options.BatchSize);
        var lastRetention = DateTime.UtcNow;
        var reader = this.queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var started = DateTime.UtcNow;
            while (batch.Count < this.options.BatchSize && reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            try
            {
                this.Write(batch);
                if (DateTime.UtcNow - lastRetention >= RetentionEvery)
                {
                    this.ApplyRetention();
                    lastRetention = DateTime.UtcNow;
                }
            }
            catch (Exception ex)
            {
                LlmApmInstruments.HistoryDropped.Add(batch.Count);
                LlmApmEventSource.Log.HistoryFailed("write to SQLite", ex);
            }
            finally
            {
                Interlocked.Add(ref this.pending, -batch.Count);
                batch.Clear();
            }

            // A full batch is written at once; otherwise gather for up to the flush interval.
            if (reader.Count < this.options.BatchSize && Volatile.Read(ref this.disposed) == 0)
            {
                var wait = this.options.FlushInterval - (DateTime.UtcNow - started);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait).ConfigureAwait(false);
                }
            }
        }
    }

    private void Write(List<LlmRequestRecord> batch)
    {
        using var connection = this.Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT OR REPLACE INTO requests (seq, id, start_time_ms, status, model, route, trace_id, record)
            VALUES ($seq, $id, $start, $status, $model, $route, $trace, $record)
            """;
        var seq = command.Parameters.Add("$seq", SqliteType.Integer);
        var id = command.Parameters.Add("$id", SqliteType.Text);
        var start = command.Parameters.Add("$start", SqliteType.Integer);
        var status = command.Parameters.Add("$status", SqliteType.Text);
        var model = command.Parameters.Add("$model", SqliteType.Text);
        var route = command.Parameters.Add("$route", SqliteType.Text);
        var trace = command.Parameters.Add("$trace", SqliteType.Text);
        var json = command.Parameters.Add("$record", SqliteType.Text);
        foreach (var record in batch)
        {
            seq.Value = record.Seq;
            id.Value = record.Id;
            start.Value = record.StartTime.ToUnixTimeMilliseconds();
            status.Value = record.Status;
            model.Value = (object?)record.Model ?? DBNull.Value;
            route.Value = record.Route;
            trace.Value = record.TraceId;
            json.Value = JsonSerializer.Serialize(record, SqliteJsonContext.Default.LlmRequestRecord);
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private void ApplyRetention()
    {
        using var connection = this.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM requests WHERE start_time_ms < $oldest;
            DELETE FROM requests WHERE seq <= (SELECT MAX(seq) FROM requests) - $count;
            """;
        command.Parameters.AddWithValue("$oldest", (DateTimeOffset.UtcNow - this.options.RetentionAge).ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$count", this.options.RetentionCount);
        command.ExecuteNonQuery();
    }

    /// <summary>Runs retention now (for tests and maintenance).</summary>
    internal void ApplyRetentionNow() => this.ApplyRetention();
}
