using System.Text;
using System.Threading.Channels;
using LlmApm.Otel.History;
using LlmApm.Otel.Sqlite.Implementation;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Sqlite;

/// <summary>
/// A durable history: the newest records in memory for the live view, and every record in a SQLite database (WAL
/// mode), written in batches by a background writer through a bounded queue. <see cref="Add"/> never waits: when the
/// queue is full the record is counted in <c>llm_history_dropped_total</c>.
/// </summary>
/// <remarks>
/// The database is opened by <see cref="Open"/> (the host's start calls it), never by the constructor. A database that
/// cannot be opened, or that fails while running, never stops the service: the history stays in memory, the store's
/// <see cref="Health"/> says what is wrong and what to do, and the log says it once. With
/// <see cref="SqliteHistoryOptions.Required"/> a database that cannot be opened fails the start instead.
/// </remarks>
public sealed partial class SqliteLlmHistoryStore : ILlmHistoryStore, IAsyncDisposable, IDisposable
{
    /// <summary>The schema version this store writes (<c>PRAGMA user_version</c>).</summary>
    internal const int SchemaVersion = SqliteHistorySchema.Version;

    private static readonly TimeSpan RetentionEvery = TimeSpan.FromMinutes(1);

    /// <summary>The most scores a record returns, as in the in-memory history: the newest.</summary>
    private const int MaxScoresPerRequest = 32;

    private readonly SqliteHistoryOptions options;
    private readonly ILogger logger;
    private readonly RecentRecords recent;
    private readonly Channel<LlmRequestRecord> queue;
    private readonly Lock healthGate = new();
    private readonly Lock scoreGate = new();
    private readonly SqliteBatchWriter batchWriter;
    private readonly SqliteRowDecoder decoder;
    private string connectionString = string.Empty;
    private Task writer = Task.CompletedTask;
    private long lastSeq;
    private long pending;
    private int disposed;

    // What is wrong, by cause: the first one set is the store's health. Null when fine.
    private string? openFailure;
    private string? writeFailure;
    private string? readFailure;
    private long droppedWhileFailing;

    // The aggregates: fed by Add, and at open by the rows already in the database (up to this seq).
    private readonly LlmHistoryRollups rollups = new();
    private Task rollupsLoaded = Task.CompletedTask;
    private long loadRollupsUpTo;

    /// <summary>Initializes a new instance of the <see cref="SqliteLlmHistoryStore"/> class. It touches no file:
    /// <see cref="Open"/> does.</summary>
    /// <param name="options">The store's options.</param>
    /// <param name="apmOptions">LLM-APM's options; <c>HistoryCapacity</c> sets how many records stay in memory.</param>
    /// <param name="logger">Where the store says what is wrong with its database; none by default.</param>
    public SqliteLlmHistoryStore(IOptions<SqliteHistoryOptions> options, IOptions<LlmApmOptions> apmOptions, ILogger<SqliteLlmHistoryStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(apmOptions);
        this.options = options.Value;
        this.logger = (ILogger?)logger ?? NullLogger.Instance;
        this.recent = new RecentRecords(Math.Max(1, apmOptions.Value.HistoryCapacity));
        this.batchWriter = new SqliteBatchWriter(this.Connect);
        this.decoder = new SqliteRowDecoder(this.logger, this.options.Path);
        this.queue = Channel.CreateBounded<LlmRequestRecord>(new BoundedChannelOptions(Math.Max(1, this.options.QueueCapacity))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Gets the database file.</summary>
    internal string Path => this.options.Path;

    /// <summary>Gets the number of records waiting to be written.</summary>
    internal long Pending => Interlocked.Read(ref this.pending);

    /// <summary>Gets a value indicating whether the database is open: <c>false</c> before <see cref="Open"/> and
    /// when it could not be opened (the history is then in memory only).</summary>
    internal bool IsOpen { get; private set; }

    /// <inheritdoc/>
    public LlmHistoryHealth Health
    {
        get
        {
            lock (this.healthGate)
            {
                var reason = this.openFailure ?? this.writeFailure ?? this.readFailure;
                return reason is null ? LlmHistoryHealth.Healthy : LlmHistoryHealth.Degraded(reason);
            }
        }
    }

    /// <summary>Opens (or creates) the database, migrates its schema and loads the newest records into memory. A
    /// database that cannot be opened leaves the history in memory, with one error in the log and a degraded
    /// <see cref="Health"/>; with <see cref="SqliteHistoryOptions.Required"/> it throws instead. Called by the hosted
    /// service that <c>AddLlmApmSqliteHistory()</c> registers; call it yourself for a store built without a host.</summary>
    /// <exception cref="OptionsValidationException">An option is invalid.</exception>
    /// <exception cref="InvalidOperationException">The database cannot be opened and it is required.</exception>
    public void Open()
    {
        var validation = new SqliteHistoryOptionsValidator().Validate(null, this.options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(SqliteHistoryOptions), typeof(SqliteHistoryOptions), validation.Failures);
        }

        if (this.IsOpen)
        {
            return;
        }

        try
        {
            this.OpenDatabase();
        }
        catch (Exception ex) when (SqliteHistoryProblem.IsDatabaseProblem(ex))
        {
            SqliteConnection.ClearAllPools();
            var (cause, fix) = SqliteHistoryProblem.Describe(ex, this.options.OpenTimeout);
            var path = System.IO.Path.GetFullPath(this.options.Path);
            if (this.options.Required)
            {
                throw new InvalidOperationException(
                    $"The request history database '{path}' cannot be opened: {cause}. To fix: {fix}. (LlmApm:Sqlite:Required is true, so the service does not start.)", ex);
            }

            lock (this.healthGate)
            {
                this.openFailure = $"The request history database '{path}' cannot be opened: {cause}. The history is kept in memory only until a restart. To fix: {fix}.";
            }

            // The exception's type only: its message is already in the cause, and a stack trace says nothing to an operator.
            LogOpenFailed(this.logger, path, cause, fix, ex.GetType().Name);
            SqliteHistoryEventSource.Log.Unavailable(path, cause);
            return;
        }

        this.IsOpen = true;
        this.rollupsLoaded = Task.Run(this.LoadRollups);
        this.writer = Task.Run(this.WriteLoopAsync);
    }

    /// <inheritdoc/>
    public long Add(LlmRequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var seq = Interlocked.Increment(ref this.lastSeq);
        record = record.WithSeq(seq);
        this.recent.Put(record);
        this.rollups.Add(record);
        if (!this.IsOpen || Volatile.Read(ref this.disposed) != 0)
        {
            // In memory only: the health says so; these records were never going to be written.
            return seq;
        }

        if (this.queue.Writer.TryWrite(record))
        {
            Interlocked.Increment(ref this.pending);
            return seq;
        }

        LlmHistoryDrops.Count(1, LlmHistoryDropReason.QueueFull);
        SqliteHistoryEventSource.Log.QueueFull();
        return seq;
    }

    /// <inheritdoc/>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read.</exception>
    public LlmRequestRecord? Find(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (this.recent.Find(id) is { } record)
        {
            return record;
        }

        if (!this.IsOpen)
        {
            return null;
        }

        return this.Read(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {SqliteHistorySchema.Columns} FROM requests WHERE id = $id COLLATE NOCASE LIMIT 1";
            command.Parameters.AddWithValue("$id", id);
            var found = new List<LlmRequestRecord>(1);
            using (var reader = command.ExecuteReader())
            {
                this.decoder.ReadAll(reader, found);
            }

            AttachScores(connection, null, found, 0);
            return found.Count == 0 ? null : found[0];
        });
    }

    /// <inheritdoc/>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read or written.</exception>
    public bool AddScore(string requestId, LlmScore score)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ArgumentNullException.ThrowIfNull(score);

        // One score at a time: the record in memory is replaced by a copy with the score, and two at once would lose one.
        lock (this.scoreGate)
        {
            if (this.Find(requestId) is not { } record)
            {
                return false;
            }

            var scores = record.Scores.Count >= MaxScoresPerRequest ? record.Scores.Skip(1) : record.Scores;
            this.recent.Replace(record.WithScores([.. scores, score]));
            if (!this.IsOpen || Volatile.Read(ref this.disposed) != 0)
            {
                return true;
            }

            // Written now, not queued: a score is rare, and its row needs no record row to exist yet.
            try
            {
                using var connection = this.Connect();
                using var insert = SqliteHistorySchema.CreateScoreInsert(connection, null);
                SqliteHistorySchema.WriteScore(insert, record.Seq, score);
            }
            catch (Exception ex) when (SqliteHistoryProblem.IsDatabaseProblem(ex))
            {
                var (cause, _) = SqliteHistoryProblem.Describe(ex, this.options.OpenTimeout);
                throw new LlmHistoryUnavailableException($"The request history database cannot keep the score: {cause}. It is kept in memory only.", ex);
            }

            return true;
        }
    }

    /// <inheritdoc/>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read.</exception>
    public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, LlmHistoryQuery.MaxLimit);
        var result = this.recent.Query(query, limit);
        var oldestInMemory = this.recent.Oldest?.Seq ?? 0;
        if (result.Count >= limit || oldestInMemory == 1 || !this.IsOpen)
        {
            return result;
        }

        // Older pages come from the database: below the oldest record still in memory and below the cursor.
        var below = Math.Min(query.Before ?? long.MaxValue, oldestInMemory == 0 ? long.MaxValue : oldestInMemory);
        return this.Read(connection =>
        {
            using var command = connection.CreateCommand();
            var sql = new StringBuilder($"SELECT {SqliteHistorySchema.Columns} FROM requests WHERE seq < $below");
            command.Parameters.AddWithValue("$below", below);
            SqliteHistorySchema.AppendEquals(sql, command, [("status", query.Status), ("model", query.Model), ("route", query.Route), ("replica", query.Replica), ("user_id", query.UserId), ("tenant_id", query.TenantId)]);

            if (query.PropertyKey is not null)
            {
                // json_each rather than a JSON path: a key is a parameter, never part of the path's syntax.
                sql.Append(" AND EXISTS (SELECT 1 FROM json_each(requests.properties) p WHERE p.key = $pkey");
                command.Parameters.AddWithValue("$pkey", query.PropertyKey);
                if (query.PropertyValue is not null)
                {
                    sql.Append(" AND p.type = 'text' AND p.value = $pvalue");
                    command.Parameters.AddWithValue("$pvalue", query.PropertyValue);
                }

                sql.Append(')');
            }

            if (query.NegativeOnly)
            {
                sql.Append(" AND EXISTS (SELECT 1 FROM scores s WHERE s.request_seq = requests.seq AND s.polarity = $negative)");
                command.Parameters.AddWithValue("$negative", (long)LlmScorePolarity.Negative);
            }

            if (!string.IsNullOrEmpty(query.Q))
            {
                sql.Append(" AND (id LIKE $q ESCAPE '\\' OR trace_id LIKE $q ESCAPE '\\')");
                command.Parameters.AddWithValue("$q", EscapeLike(query.Q.ToLowerInvariant()) + "%");
            }

            sql.Append(" ORDER BY seq DESC LIMIT $limit");
            var asked = limit - result.Count;
            var limitParameter = command.Parameters.AddWithValue("$limit", asked);
            command.CommandText = sql.ToString();
            var first = result.Count;
            while (true)
            {
                using var reader = command.ExecuteReader();
                var (rows, lowest) = this.decoder.ReadAll(reader, result);

                // A skipped row leaves the page short: read on below it, so that the page stays full and its cursor right.
                if (result.Count >= limit || rows < asked)
                {
                    break;
                }

                command.Parameters["$below"].Value = lowest;
                asked = limit - result.Count;
                limitParameter.Value = asked;
            }

            AttachScores(connection, null, result, first);
            return result;
        });
    }

    /// <inheritdoc/>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read.</exception>
    public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from)
    {
        var inMemory = this.recent.Since(from);
        var oldest = this.recent.Oldest;
        if (!this.IsOpen || oldest is { Seq: 1 } || (oldest is not null && oldest.StartTime < from))
        {
            return inMemory;
        }

        return this.Read(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {SqliteHistorySchema.Columns} FROM requests WHERE seq < $below AND start_utc_ticks >= $from ORDER BY seq";
            command.Parameters.AddWithValue("$below", oldest?.Seq ?? long.MaxValue);
            command.Parameters.AddWithValue("$from", from.UtcTicks);
            var result = new List<LlmRequestRecord>();
            using (var reader = command.ExecuteReader())
            {
                this.decoder.ReadAll(reader, result);
            }

            AttachScores(connection, null, result, 0);
            result.AddRange(inMemory);
            return result;
        });
    }

    /// <inheritdoc/>
    /// <remarks>From rollups kept in memory, fed by every record added and, once at open, by the rows of the last 25
    /// hours already in the database (until that read is done, up to 30 seconds, this waits for it). They outlive
    /// retention: a summary counts the requests of its window that retention has deleted.</remarks>
    public IReadOnlyList<LlmHistoryCell> Aggregate(LlmHistoryAggregateQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        this.rollupsLoaded.Wait(TimeSpan.FromSeconds(30));
        return this.rollups.Aggregate(query);
    }

    /// <inheritdoc/>
    /// <remarks>From the same rollups as <see cref="Aggregate"/>, not from the rows: a replica's count is then what a summary
    /// filtered by it counts, and the cost does not grow with the window's rows (the replica index is by number, not by
    /// time, so SQL would read every row of the window). A process that restarts without a <c>service.instance.id</c> is
    /// a new replica; the rows of its earlier runs in the last 25 hours are listed under their own.</remarks>
    public IReadOnlyList<LlmReplicaRow> Replicas(DateTimeOffset from, DateTimeOffset before)
    {
        this.rollupsLoaded.Wait(TimeSpan.FromSeconds(30));
        return this.rollups.Replicas(from, before);
    }

    /// <inheritdoc/>
    /// <remarks>One <c>GROUP BY</c> over the window's rows in the database (read by the start-time index), costs summed
    /// exactly as decimals by a function of the store's; the records still in memory are added to it in the process,
    /// and the groups (one per key) are sorted there.</remarks>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read.</exception>
    public IReadOnlyList<LlmSpendRow> Spend(LlmSpendQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var inMemory = this.recent.Since(query.From);
        var oldest = this.recent.Oldest;
        if (!this.IsOpen || oldest is { Seq: 1 } || (oldest is not null && oldest.StartTime < query.From))
        {
            return SqliteSpend.Merge([], SqliteSpend.Group(inMemory, query), query.Limit);
        }

        // The database below the oldest record in memory, the memory from it on: a record the ring dropped between the
        // two reads is counted from the database, never twice.
        var below = oldest?.Seq ?? long.MaxValue;
        var rows = this.Read(connection => SqliteSpend.Read(connection, query, below));
        return SqliteSpend.Merge(rows, SqliteSpend.Group(inMemory.Where(r => r.Seq >= below), query), query.Limit);
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

    /// <summary>Gets or sets pragmas run on every connection after the store's own: tests make a database full with
    /// <c>PRAGMA max_page_count</c>, which SQLite keeps per connection.</summary>
    internal string ConnectionPragmas { get; set; } = string.Empty;

    /// <summary>Gets how many rows could not be decoded and were skipped.</summary>
    internal long SkippedRows => this.decoder.Skipped;

    /// <summary>Runs retention now (for tests and maintenance).</summary>
    internal void ApplyRetentionNow() => this.ApplyRetention();

    /// <summary>Reads the scores of <paramref name="records"/> from <paramref name="first"/> on (rows read from the
    /// database, whose scores live in their own table) and puts each record's on a copy of it.</summary>
    private static void AttachScores(SqliteConnection connection, SqliteTransaction? transaction, List<LlmRequestRecord> records, int first)
    {
        if (records.Count <= first)
        {
            return;
        }

        long min = long.MaxValue, max = long.MinValue;
        for (var i = first; i < records.Count; i++)
        {
            min = Math.Min(min, records[i].Seq);
            max = Math.Max(max, records[i].Seq);
        }

        var bySeq = new Dictionary<long, List<LlmScore>>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"SELECT {SqliteHistorySchema.ScoreColumns} FROM scores WHERE request_seq BETWEEN $min AND $max ORDER BY utc_ticks, rowid";
            command.Parameters.AddWithValue("$min", min);
            command.Parameters.AddWithValue("$max", max);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (SqliteHistorySchema.ReadScore(reader) is { } score)
                {
                    var seq = reader.GetInt64(0);
                    if (!bySeq.TryGetValue(seq, out var list))
                    {
                        bySeq[seq] = list = [];
                    }

                    list.Add(score);
                }
            }
        }

        if (bySeq.Count == 0)
        {
            return;
        }

        for (var i = first; i < records.Count; i++)
        {
            if (bySeq.TryGetValue(records[i].Seq, out var scores))
            {
                records[i] = records[i].WithScores([.. scores.TakeLast(MaxScoresPerRequest)]);
            }
        }
    }

    private static string EscapeLike(string value)
        => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private void OpenDatabase()
    {
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

        // Opening waits for another process's lock for OpenTimeout at most: SQLite's busy handler and
        // Microsoft.Data.Sqlite's own retry (the command timeout, whole seconds) are both bounded by it.
        var wait = this.options.OpenTimeout;
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder(this.connectionString)
        {
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)),
        }.ToString());
        connection.Open();
        using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = $"PRAGMA busy_timeout = {(long)Math.Max(1, wait.TotalMilliseconds)}; PRAGMA journal_mode=WAL;";
            pragma.ExecuteNonQuery();
        }

        // A write transaction: a file this process cannot write, or that another holds, fails here and not later.
        using var transaction = connection.BeginTransaction(deferred: false);
        SqliteHistorySchema.Migrate(connection, transaction);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM requests";
        var max = (long)command.ExecuteScalar()!;

        // The newest records, read now: a damaged file usually shows itself here, at start-up, not at the first page.
        command.CommandText = $"SELECT {SqliteHistorySchema.Columns} FROM requests ORDER BY seq DESC LIMIT $count";
        command.Parameters.AddWithValue("$count", this.recent.Capacity);
        var newest = new List<LlmRequestRecord>();
        using (var reader = command.ExecuteReader())
        {
            this.decoder.ReadAll(reader, newest);
        }

        AttachScores(connection, transaction, newest, 0);
        transaction.Commit();
        this.loadRollupsUpTo = max;
        for (var i = newest.Count - 1; i >= 0; i--)
        {
            this.recent.Put(newest[i]);
        }

        // Records added before the database was open keep their numbers; new ones continue after both.
        var seq = Interlocked.Read(ref this.lastSeq);
        while (seq < max && Interlocked.CompareExchange(ref this.lastSeq, max, seq) != seq)
        {
            seq = Interlocked.Read(ref this.lastSeq);
        }
    }

    /// <summary>Feeds the rollups the rows that were in the database when it opened (later ones come through
    /// <see cref="Add"/>): one read of the last 25 hours, off the start-up path.</summary>
    private void LoadRollups()
    {
        try
        {
            using var connection = this.Connect();
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT start_utc_ticks, duration_ms, route, model, replica, status, error_type, input_tokens, output_tokens,
                    cached_input_tokens, reasoning_tokens, cost_usd, unpriced, id, cache_write_input_tokens, seq
                FROM requests WHERE seq <= $upTo AND start_utc_ticks >= $from
                """;
            command.Parameters.AddWithValue("$upTo", this.loadRollupsUpTo);
            command.Parameters.AddWithValue("$from", (DateTimeOffset.UtcNow - LlmHistoryRollups.Kept).UtcTicks);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (this.decoder.TryDecode(reader, SqliteHistorySchema.ReadFigures, 15, out var figures))
                {
                    this.rollups.Add(figures);
                }
            }
        }
        catch (Exception ex) when (SqliteHistoryProblem.IsDatabaseProblem(ex))
        {
            // The summary then counts what was added since the start; reads of records say what is wrong.
            SqliteHistoryEventSource.Log.Unavailable(System.IO.Path.GetFullPath(this.options.Path), ex.Message);
        }
    }

    private SqliteConnection Connect()
    {
        var connection = new SqliteConnection(this.connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;" + this.ConnectionPragmas;
        command.ExecuteNonQuery();
        return connection;
    }

    /// <summary>Runs a read; a database that cannot answer makes the store degraded (until a read works again) and
    /// the caller gets <see cref="LlmHistoryUnavailableException"/>, which the history API answers with 503.</summary>
    private T Read<T>(Func<SqliteConnection, T> read)
    {
        try
        {
            T result;
            using (var connection = this.Connect())
            {
                result = read(connection);
            }

            this.ReadWorked();
            return result;
        }
        catch (Exception ex) when (SqliteHistoryProblem.IsDatabaseProblem(ex))
        {
            var (cause, fix) = SqliteHistoryProblem.Describe(ex, this.options.OpenTimeout);
            var path = System.IO.Path.GetFullPath(this.options.Path);
            bool first;
            lock (this.healthGate)
            {
                first = this.readFailure is null;
                this.readFailure = $"The request history database '{path}' cannot be read: {cause}. Older requests are unavailable; new ones are kept. To fix: {fix}.";
            }

            if (first)
            {
                LogReadFailed(this.logger, path, cause, fix, ex.GetType().Name);
                SqliteHistoryEventSource.Log.Unavailable(path, cause);
            }

            throw new LlmHistoryUnavailableException($"The request history database cannot be read: {cause}.", ex);
        }
    }

    private void ReadWorked()
    {
        if (Volatile.Read(ref this.readFailure) is null)
        {
            return;
        }

        lock (this.healthGate)
        {
            this.readFailure = null;
        }
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

                this.WritesWorked();
            }
            catch (Exception ex) when (SqliteHistoryProblem.IsDatabaseProblem(ex))
            {
                this.WritesFailed(batch.Count, ex);
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

        this.batchWriter.Dispose();
    }

    // The log says when dropping starts and when it stops, never once per batch: a full disk fails every write.
    private void WritesFailed(int count, Exception exception)
    {
        LlmHistoryDrops.Count(count, LlmHistoryDropReason.WriteFailed);
        var (cause, fix) = SqliteHistoryProblem.Describe(exception, this.options.OpenTimeout);
        var path = System.IO.Path.GetFullPath(this.options.Path);
        bool first;
        lock (this.healthGate)
        {
            first = this.writeFailure is null;
            this.writeFailure = $"The request history database '{path}' cannot be written: {cause}. New requests are kept in memory only and counted in llm_history_dropped_total. To fix: {fix}.";
            this.droppedWhileFailing += count;
        }

        if (first)
        {
            LogWritesFailing(this.logger, path, cause, fix, exception.GetType().Name);
            SqliteHistoryEventSource.Log.Dropping(path, cause);
        }
    }

    private void WritesWorked()
    {
        if (Volatile.Read(ref this.writeFailure) is null)
        {
            return;
        }

        long dropped;
        lock (this.healthGate)
        {
            this.writeFailure = null;
            dropped = this.droppedWhileFailing;
            this.droppedWhileFailing = 0;
        }

        var path = System.IO.Path.GetFullPath(this.options.Path);
        LogWritesResumed(this.logger, path, dropped);
        SqliteHistoryEventSource.Log.Resumed(path, dropped);
    }

    private void Write(List<LlmRequestRecord> batch) => this.batchWriter.Write(batch, this.ConnectionPragmas);

    private void ApplyRetention()
    {
        using var connection = this.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM requests WHERE start_utc_ticks < $oldest;
            DELETE FROM requests WHERE seq <= (SELECT MAX(seq) FROM requests) - $count;
            DELETE FROM scores WHERE request_seq < (SELECT COALESCE(MIN(seq), 0) FROM requests);
            """;
        command.Parameters.AddWithValue("$oldest", (DateTimeOffset.UtcNow - this.options.RetentionAge).UtcTicks);
        command.Parameters.AddWithValue("$count", this.options.RetentionCount);
        command.ExecuteNonQuery();
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error,
        Message = "The request history database '{Path}' cannot be opened: {Cause}. The service runs with the history in memory only (lost at restart). To fix: {Fix}. Set LlmApm:Sqlite:Required=true to make this stop the start instead. ({ExceptionType})")]
    private static partial void LogOpenFailed(ILogger logger, string path, string cause, string fix, string exceptionType);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error,
        Message = "The request history database '{Path}' cannot be written: {Cause}. New requests are kept in memory only and counted in llm_history_dropped_total until writes work again. To fix: {Fix}. ({ExceptionType})")]
    private static partial void LogWritesFailing(ILogger logger, string path, string cause, string fix, string exceptionType);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information,
        Message = "The request history database '{Path}' is written again; {Dropped} records were not written while it failed.")]
    private static partial void LogWritesResumed(ILogger logger, string path, long dropped);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error,
        Message = "The request history database '{Path}' cannot be read: {Cause}. The history API answers 503 for older requests until reads work again. To fix: {Fix}. ({ExceptionType})")]
    private static partial void LogReadFailed(ILogger logger, string path, string cause, string fix, string exceptionType);
}
