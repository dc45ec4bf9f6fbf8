using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using LlmApm.Otel.History;
using LlmApm.Otel.PostgreSql.Implementation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace LlmApm.Otel.PostgreSql;

/// <summary>
/// A history shared by the replicas of a service: every replica writes its finished requests to one PostgreSQL
/// database, in batches (binary COPY) by a background writer through a bounded queue, and reads every replica's.
/// <see cref="Add"/> never waits: when the queue is full the record is counted in <c>llm_history_dropped_total</c>.
/// </summary>
/// <remarks>
/// The database is reached when the host starts (<see cref="StartAsync"/>), never by the constructor, and a database
/// that is down does not hold the start: records wait in the queue while the writer retries, and are written when it
/// is back. A read the database cannot answer throws <see cref="LlmHistoryUnavailableException"/> (HTTP 503). A record
/// is readable once written: at most <see cref="PostgreSqlHistoryOptions.FlushInterval"/> after it finished.
/// </remarks>
public sealed partial class PostgreSqlLlmHistoryStore : ILlmHistoryStore, IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan RetentionEvery = TimeSpan.FromMinutes(1);
    private const int RetentionBatch = 5000;

    /// <summary>The most scores a record returns, as in the other stores: the newest.</summary>
    private const int MaxScoresPerRequest = 32;

    private readonly PostgreSqlHistoryOptions options;
    private readonly ILogger logger;
    private readonly Channel<LlmRequestRecord> queue;

    // The records in the queue by id, so that a score given before its record is written finds the record's key.
    private readonly ConcurrentDictionary<string, (long Seq, string Replica, string Id)> queued = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock healthGate = new();
    private readonly SeqClock clock;
    private readonly CancellationTokenSource stopping = new();
    private NpgsqlDataSource? dataSource;
    private Task writer = Task.CompletedTask;
    private long pending;
    private int started;
    private int disposed;
    private volatile bool refused;
    private volatile bool migrated;
    private volatile string? ownReplica;

    // What is wrong: the first one set is the store's health. Null when fine.
    private string? writeFailure;
    private string? readFailure;

    /// <summary>Initializes a new instance of the <see cref="PostgreSqlLlmHistoryStore"/> class. It opens no
    /// connection: <see cref="StartAsync"/> does.</summary>
    /// <param name="options">The store's options.</param>
    /// <param name="logger">Where the store says what is wrong with its database; none by default.</param>
    public PostgreSqlLlmHistoryStore(IOptions<PostgreSqlHistoryOptions> options, ILogger<PostgreSqlLlmHistoryStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        this.logger = (ILogger?)logger ?? NullLogger.Instance;
        this.InstanceId = DefaultInstanceId(this.options.InstanceId);
        this.clock = new SeqClock(this.InstanceId);
        this.queue = Channel.CreateBounded<LlmRequestRecord>(new BoundedChannelOptions(Math.Max(1, this.options.QueueCapacity))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Gets the replica this store writes as.</summary>
    internal string InstanceId { get; }

    /// <summary>Whether <paramref name="replica"/> is this process: its own records reach its live stream directly.</summary>
    internal bool IsOwn(string replica) => string.Equals(replica, this.InstanceId, StringComparison.Ordinal) || string.Equals(replica, this.ownReplica, StringComparison.Ordinal);

    /// <summary>Gets the number of records waiting to be written.</summary>
    internal long Pending => Interlocked.Read(ref this.pending);

    /// <summary>Gets a value indicating whether the schema is in place and writes may go.</summary>
    internal bool IsMigrated => this.migrated;

    /// <summary>Gets the database, without the password, for messages.</summary>
    internal string Database => PostgreSqlConnection.Describe(this.options.ConnectionString ?? string.Empty);

    /// <inheritdoc/>
    public LlmHistoryHealth Health
    {
        get
        {
            lock (this.healthGate)
            {
                var reason = this.writeFailure ?? this.readFailure;
                return reason is null ? LlmHistoryHealth.Healthy : LlmHistoryHealth.Degraded(reason);
            }
        }
    }

    /// <summary>Validates the options and starts the writer, which migrates the schema first. Returns at once unless
    /// <see cref="PostgreSqlHistoryOptions.Required"/>: then it waits until the schema is in place and throws when
    /// the database cannot be reached or refuses it. Called by the hosted service that
    /// <c>AddLlmApmPostgreSqlHistory()</c> registers; call it yourself for a store built without a host.</summary>
    /// <param name="cancellationToken">Cancels a required start.</param>
    /// <returns>A task that completes when the store has started.</returns>
    /// <exception cref="OptionsValidationException">An option is invalid.</exception>
    /// <exception cref="InvalidOperationException">The database is required and cannot be used.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var validation = new PostgreSqlHistoryOptionsValidator().Validate(null, this.options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(PostgreSqlHistoryOptions), typeof(PostgreSqlHistoryOptions), validation.Failures);
        }

        if (Interlocked.Exchange(ref this.started, 1) != 0)
        {
            return;
        }

        this.dataSource = PostgreSqlConnection.Create(this.options.ConnectionString!);
        if (this.options.Required)
        {
            try
            {
                await this.MigrateAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (PostgreSqlConnection.IsDatabaseProblem(ex))
            {
                throw new InvalidOperationException(
                    $"The request history database '{this.Database}' cannot be used: {PostgreSqlConnection.Cause(ex)}. (LlmApm:PostgreSql:Required is true, so the service does not start.)", ex);
            }
        }

        this.writer = Task.Run(this.WriteLoopAsync, CancellationToken.None);
    }

    /// <inheritdoc/>
    public long Add(LlmRequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var seq = this.clock.Next();
        if (record.Replica is { } replica && !ReferenceEquals(replica, this.ownReplica))
        {
            // The history processor gives every record the same instance: this runs once per process.
            this.ownReplica = replica;
        }

        if (this.refused || Volatile.Read(ref this.disposed) != 0)
        {
            // The schema is newer than this package writes: the health says so, and nothing will be written.
            LlmHistoryDrops.Count(1, LlmHistoryDropReason.WriteFailed);
            return seq;
        }

        // Known before it is queued: the writer forgets it once written, which may be before TryWrite returns.
        var key = (seq, record.Replica ?? this.InstanceId, record.Id);
        this.queued[key.Id] = key;
        if (this.queue.Writer.TryWrite(record.WithSeq(seq)))
        {
            Interlocked.Increment(ref this.pending);
            return seq;
        }

        this.queued.TryRemove(KeyValuePair.Create(key.Id, key));
        LlmHistoryDrops.Count(1, LlmHistoryDropReason.QueueFull);
        PostgreSqlHistoryEventSource.Log.QueueFull();
        return seq;
    }

    /// <inheritdoc/>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read.</exception>
    public LlmRequestRecord? Find(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return this.Read(command =>
        {
            command.CommandText = $"SELECT {PostgreSqlHistorySchema.Columns} FROM {PostgreSqlHistorySchema.Table} WHERE lower(id) = lower($1) ORDER BY seq DESC LIMIT 1";
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
            List<LlmRequestRecord> found = [];
            using (var reader = command.ExecuteReader())
            {
                if (reader.Read())
                {
                    if (PostgreSqlHistorySchema.ReadOrSkip(reader) is { } record)
                    {
                        found.Add(record);
                    }
                }
            }

            AttachScores(command.Connection!, found);
            return found.Count == 0 ? null : found[0];
        });
    }

    /// <inheritdoc/>
    /// <remarks>Written at once, not queued: a score is rare. A record still in the write queue is found by its id
    /// there, and its score row waits for it (scores have no foreign key to their request).</remarks>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be written.</exception>
    public bool AddScore(string requestId, LlmScore score)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ArgumentNullException.ThrowIfNull(score);

        // The queue first: a record leaves it only once its row is committed, so then the database has it.
        var inQueue = this.queued.TryGetValue(requestId, out var key);
        return this.Read(command =>
        {
            if (!inQueue)
            {
                command.CommandText = $"SELECT seq, replica, id FROM {PostgreSqlHistorySchema.Table} WHERE lower(id) = lower($1) ORDER BY seq DESC LIMIT 1";
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = requestId });
                using var reader = command.ExecuteReader();
                if (!reader.Read())
                {
                    return false;
                }

                key = (reader.GetInt64(0), reader.GetString(1), reader.GetString(2));
            }

            using var importer = command.Connection!.BeginBinaryImport(PostgreSqlHistorySchema.CopyScores);
            PostgreSqlHistorySchema.WriteScoreAsync(importer, key.Seq, key.Replica, key.Id, score, CancellationToken.None).GetAwaiter().GetResult();
            importer.Complete();
            return true;
        });
    }

    /// <inheritdoc/>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read.</exception>
    public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, LlmHistoryQuery.MaxLimit);
        return this.Read(command =>
        {
            var sql = new StringBuilder($"SELECT {PostgreSqlHistorySchema.Columns} FROM {PostgreSqlHistorySchema.Table} WHERE TRUE");
            void Filter(string condition, string value)
            {
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = value });
                sql.Append(" AND ").Append(condition.Replace("$?", "$" + command.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
            }

            if (query.Before is { } before)
            {
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = before });
                sql.Append(" AND seq < $").Append(command.Parameters.Count);
            }

            if (query.Status is not null)
            {
                Filter("status = $?", query.Status);
            }

            if (query.Model is not null)
            {
                Filter("model = $?", query.Model);
            }

            if (query.Route is not null)
            {
                Filter("route = $?", query.Route);
            }

            if (query.Replica is not null)
            {
                Filter("replica = $?", query.Replica);
            }

            if (query.UserId is not null)
            {
                Filter("user_id = $?", query.UserId);
            }

            if (query.TenantId is not null)
            {
                Filter("tenant_id = $?", query.TenantId);
            }

            if (query.PropertyKey is not null)
            {
                // Both through the GIN index: ? is "has the key", @> "has the key with this value".
                if (query.PropertyValue is null)
                {
                    Filter("properties ? $?", query.PropertyKey);
                }
                else
                {
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.PropertyKey });
                    Filter($"properties @> jsonb_build_object(${command.Parameters.Count}::text, $?::text)", query.PropertyValue);
                }
            }

            if (!string.IsNullOrEmpty(query.Q))
            {
                Filter("(lower(id) LIKE $? OR lower(trace_id) LIKE $?)", EscapeLike(query.Q.ToLowerInvariant()) + "%");
            }

            if (query.NegativeOnly)
            {
                sql.Append(" AND EXISTS (SELECT 1 FROM ").Append(PostgreSqlHistorySchema.Scores).Append(" s WHERE s.request_seq = ")
                    .Append(PostgreSqlHistorySchema.Table).Append(".seq AND s.replica = ").Append(PostgreSqlHistorySchema.Table)
                    .Append(".replica AND s.polarity = ").Append((int)LlmScorePolarity.Negative).Append(')');
            }

            sql.Append(" ORDER BY seq DESC LIMIT ").Append(limit);
            command.CommandText = sql.ToString();
            var result = new List<LlmRequestRecord>(limit);
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    if (PostgreSqlHistorySchema.ReadOrSkip(reader) is { } record)
                    {
                        result.Add(record);
                    }
                }
            }

            AttachScores(command.Connection!, result);
            return result;
        });
    }

    /// <inheritdoc/>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read.</exception>
    public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from) => this.Read(command =>
    {
        command.CommandText = $"SELECT {PostgreSqlHistorySchema.Columns} FROM {PostgreSqlHistorySchema.Table} WHERE start_time >= $1 ORDER BY seq";
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = from.UtcDateTime });
        var result = new List<LlmRequestRecord>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                if (PostgreSqlHistorySchema.ReadOrSkip(reader) is { } record)
                {
                    result.Add(record);
                }
            }
        }

        AttachScores(command.Connection!, result);
        return result;
    });

    /// <inheritdoc/>
    /// <remarks>From the rollups (<c>llm_apm_rollups</c>, per minute and per half hour) when the window starts on a
    /// whole minute and its buckets are whole minutes, as the API's 1-hour and 24-hour windows are: the cost follows
    /// the window's length, not its requests. Otherwise (the 5- and 15-second buckets of the short windows) one SQL
    /// statement over the window's rows. Rollups count whole minutes and outlive the count limit of retention.</remarks>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read.</exception>
    public IReadOnlyList<LlmHistoryCell> Aggregate(LlmHistoryAggregateQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return PostgreSqlRollups.Answers(query) ? this.Read(command => PostgreSqlRollups.Read(command, query)) : this.AggregateRows(query);
    }

    /// <summary>The aggregate of the window's rows: one SQL statement, one pass (by the start-time index), grouping sets
    /// for the cells, their error types and their latency buckets. The rows never leave the database.</summary>
    internal IReadOnlyList<LlmHistoryCell> AggregateRows(LlmHistoryAggregateQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var bucketTicks = Math.Max(TimeSpan.TicksPerMillisecond, query.Bucket.Ticks);
        return this.Read(command =>
        {
            var filters = new StringBuilder();
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = query.From.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = query.To.UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = bucketTicks / (double)TimeSpan.TicksPerSecond });
            foreach (var (column, value) in new[] { ("model", query.Model), ("route", query.Route), ("replica", query.Replica) })
            {
                if (value is not null)
                {
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = value });
                    filters.Append(" AND ").Append(column).Append(" = $").Append(command.Parameters.Count);
                }
            }

            command.CommandText = $"""
                SELECT floor(extract(epoch FROM start_time - $1) / $3)::bigint AS bucket, model,
                    GROUPING(error_type) AS g_error, GROUPING(latency_bucket) AS g_latency, error_type, latency_bucket,
                    count(*), count(*) FILTER (WHERE status <> 'ok'), sum(duration_ms),
                    sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(cached_input_tokens)::bigint, sum(reasoning_tokens)::bigint,
                    COALESCE(sum(cost_usd), 0), count(*) FILTER (WHERE unpriced),
                    (array_agg(id ORDER BY duration_ms DESC))[1], max(duration_ms), sum(cache_write_input_tokens)::bigint
                FROM {PostgreSqlHistorySchema.Table}
                WHERE start_time >= $1 AND start_time < $2{filters}
                GROUP BY GROUPING SETS ((bucket, model), (bucket, model, error_type), (bucket, model, latency_bucket))
                """;
            var cells = new Dictionary<(long, string?), (LlmHistoryCell Cell, Dictionary<string, long> Errors, long[] Latency)>();
            (LlmHistoryCell Cell, Dictionary<string, long> Errors, long[] Latency) CellOf(long bucket, string? model)
            {
                if (!cells.TryGetValue((bucket, model), out var cell))
                {
                    cells[(bucket, model)] = cell = (new LlmHistoryCell(), new Dictionary<string, long>(StringComparer.Ordinal), new long[LlmLatencyBuckets.Count]);
                }

                return cell;
            }

            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    var bucket = reader.GetInt64(0);
                    var model = reader.IsDBNull(1) ? null : reader.GetString(1);
                    var entry = CellOf(bucket, model);
                    var count = reader.GetInt64(6);
                    if (reader.GetInt32(2) == 0)
                    {
                        if (!reader.IsDBNull(4))
                        {
                            entry.Errors[reader.GetString(4)] = count;
                        }
                    }
                    else if (reader.GetInt32(3) == 0)
                    {
                        entry.Latency[reader.GetInt16(5)] = count;
                    }
                    else
                    {
                        cells[(bucket, model)] = (new LlmHistoryCell
                        {
                            Start = query.From + TimeSpan.FromTicks(bucket * bucketTicks),
                            Model = model,
                            Count = count,
                            ErrorCount = reader.GetInt64(7),
                            DurationSumMs = reader.GetDouble(8),
                            Tokens = new LlmUsage(reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11), reader.GetInt64(12))
                            {
                                CacheWriteInputTokens = reader.GetInt64(17),
                            },
                            CostUsd = reader.GetDecimal(13),
                            UnpricedCount = reader.GetInt64(14),
                            SlowestRequestId = reader.GetString(15),
                            SlowestDurationMs = reader.GetDouble(16),
                        }, entry.Errors, entry.Latency);
                    }
                }
            }

            return cells.Values.Select(c => new LlmHistoryCell
            {
                Start = c.Cell.Start,
                Model = c.Cell.Model,
                Count = c.Cell.Count,
                ErrorCount = c.Cell.ErrorCount,
                DurationSumMs = c.Cell.DurationSumMs,
                Tokens = c.Cell.Tokens,
                CostUsd = c.Cell.CostUsd,
                UnpricedCount = c.Cell.UnpricedCount,
                ErrorsByType = c.Errors,
                LatencyCounts = c.Latency,
                SlowestRequestId = c.Cell.SlowestRequestId,
                SlowestDurationMs = c.Cell.SlowestDurationMs,
            }).ToList();
        });
    }

    /// <inheritdoc/>
    /// <remarks>One SQL statement: the window's rows (by the start-time index, or the tenant or user index when
    /// filtered) grouped by the dimension's column, costs summed as numeric (exact), the biggest first, limited in SQL.
    /// Ties in cost and requests are ordered by key in the "C" collation (bytes), as the default orders them
    /// (ordinal).</remarks>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read.</exception>
    public IReadOnlyList<LlmSpendRow> Spend(LlmSpendQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var key = query.By switch
        {
            LlmSpendDimension.Tenant => "tenant_id",
            LlmSpendDimension.User => "user_id",
            LlmSpendDimension.Route => "route",
            _ => "model",
        };
        return this.Read(command =>
        {
            var sql = new StringBuilder($"""
                SELECT {key}, count(*), COALESCE(sum(cost_usd), 0), sum(input_tokens)::bigint, sum(output_tokens)::bigint,
                    count(*) FILTER (WHERE unpriced)
                FROM {PostgreSqlHistorySchema.Table} WHERE start_time >= $1
                """);
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = query.From.UtcDateTime });
            if (query.To is { } to)
            {
                command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = to.UtcDateTime });
                sql.Append(" AND start_time < $").Append(command.Parameters.Count);
            }

            foreach (var (column, value) in new[] { ("tenant_id", query.TenantId), ("user_id", query.UserId), ("route", query.Route), ("model", query.Model), ("replica", query.Replica) })
            {
                if (value is not null)
                {
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = value });
                    sql.Append(" AND ").Append(column).Append(" = $").Append(command.Parameters.Count);
                }
            }

            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(0, query.Limit) });
            sql.Append(" GROUP BY ").Append(key).Append(" ORDER BY 3 DESC, 2 DESC, ").Append(key)
                .Append(" COLLATE \"C\" NULLS FIRST LIMIT $").Append(command.Parameters.Count);
            command.CommandText = sql.ToString();
            var rows = new List<LlmSpendRow>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add(new LlmSpendRow(
                    reader.IsDBNull(0) ? null : reader.GetString(0),
                    reader.GetInt64(1),
                    reader.GetDecimal(2),
                    reader.GetInt64(3),
                    reader.GetInt64(4),
                    reader.GetInt64(5)));
            }

            return (IReadOnlyList<LlmSpendRow>)rows;
        });
    }

    /// <summary>The replica list's statement: $1 and $2 the window, $3 the first number that can belong to it.</summary>
    internal static string ReplicasSql { get; } = $"""
        SELECT g.replica, g.requests, COALESCE(l.last, g.last_period)
        FROM (
            SELECT replica, sum(requests)::bigint AS requests, max(period) + interval '1 minute' AS last_period
            FROM {PostgreSqlRollups.Table}
            WHERE minutes = 1 AND period >= date_trunc('minute', $1) AND period < $2
            GROUP BY replica) g
        LEFT JOIN LATERAL (
            SELECT t.start_time AS last FROM {PostgreSqlHistorySchema.Table} t
            WHERE t.replica = g.replica AND t.seq >= $3 AND t.start_time >= date_trunc('minute', $1) AND t.start_time < $2
            ORDER BY t.seq DESC LIMIT 1) l ON true
        WHERE g.requests > 0
        ORDER BY 3 DESC, g.replica COLLATE "C"
        LIMIT {LlmReplicaRow.MaxRows}
        """;

    /// <inheritdoc/>
    /// <remarks>The counts come from the per-minute rollups (the rows the summary adds up, so a replica's count is what
    /// <c>api/summary?replica=</c> counts), never from the window's rows: a day of a million records costs its 1,440
    /// minutes per replica, route and model. The window starts at its whole minute, as aggregates do. The last request
    /// is the start of the newest record (by number: the last to end) its replica wrote in the window, found by the
    /// <c>(replica, seq)</c> key from its end; where count-based retention has deleted it, the end of the replica's
    /// newest minute.</remarks>
    /// <exception cref="LlmHistoryUnavailableException">The database cannot be read.</exception>
    public IReadOnlyList<LlmReplicaRow> Replicas(DateTimeOffset from, DateTimeOffset before) => this.Read(command =>
    {
        command.CommandText = ReplicasSql;
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = from.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = before.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = SeqClock.AtOrAfter(from) });
        var rows = new List<LlmReplicaRow>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(new LlmReplicaRow(reader.GetString(0), reader.GetInt64(1), new DateTimeOffset(DateTime.SpecifyKind(reader.GetFieldValue<DateTime>(2), DateTimeKind.Utc))));
        }

        return (IReadOnlyList<LlmReplicaRow>)rows;
    });

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
        if (await Task.WhenAny(this.writer, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false) != this.writer)
        {
            await this.stopping.CancelAsync().ConfigureAwait(false);
        }

        if (this.dataSource is not null)
        {
            await this.dataSource.DisposeAsync().ConfigureAwait(false);
        }

        this.stopping.Dispose();
    }

    /// <summary>Writes what is queued (up to five seconds) and stops the writer.</summary>
    public void Dispose() => this.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>The replicas and the newest number each has written, for the live stream.</summary>
    internal Dictionary<string, long> ReadReplicaCursors() => this.Read(command =>
    {
        command.CommandText = $"SELECT replica, last_seq FROM {PostgreSqlHistorySchema.Replicas}";
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result[reader.GetString(0)] = reader.GetInt64(1);
        }

        return result;
    });

    /// <summary>A replica's records numbered above <paramref name="after"/>, oldest first.</summary>
    internal List<LlmRequestRecord> ReadNewer(string replica, long after, int limit) => this.Read(command =>
    {
        command.CommandText = $"SELECT {PostgreSqlHistorySchema.Columns} FROM {PostgreSqlHistorySchema.Table} WHERE replica = $1 AND seq > $2 ORDER BY seq LIMIT $3";
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = replica });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var result = new List<LlmRequestRecord>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                if (PostgreSqlHistorySchema.ReadOrSkip(reader) is { } record)
                {
                    result.Add(record);
                }
            }
        }

        AttachScores(command.Connection!, result);
        return result;
    });

    /// <summary>Runs retention now (for tests and maintenance).</summary>
    internal Task<long> ApplyRetentionNowAsync() => this.ApplyRetentionAsync(CancellationToken.None);

    private static string DefaultInstanceId(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        // The OpenTelemetry resource's own id when the operator set one, so that history and metrics agree.
        var attributes = Environment.GetEnvironmentVariable("OTEL_RESOURCE_ATTRIBUTES");
        foreach (var pair in (attributes ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && pair.AsSpan(0, equals).Trim().SequenceEqual("service.instance.id") && pair.Length > equals + 1)
            {
                return Uri.UnescapeDataString(pair[(equals + 1)..].Trim());
            }
        }

        return LlmReplica.ProcessId;
    }

    /// <summary>Reads the scores of <paramref name="records"/> (one query, by the scores' request index) and puts each
    /// record's on a copy of it, oldest first, at most <see cref="MaxScoresPerRequest"/>.</summary>
    private static void AttachScores(NpgsqlConnection connection, List<LlmRequestRecord> records)
    {
        if (records.Count == 0)
        {
            return;
        }

        var byKey = new Dictionary<(long, string), List<LlmScore>>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT {PostgreSqlHistorySchema.ScoreColumns} FROM {PostgreSqlHistorySchema.Scores} WHERE request_seq = ANY($1) ORDER BY at, id";
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. records.Select(r => r.Seq).Distinct()] });
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (PostgreSqlHistorySchema.ReadScore(reader) is { } score)
                {
                    var key = (reader.GetInt64(0), reader.GetString(1));
                    if (!byKey.TryGetValue(key, out var list))
                    {
                        byKey[key] = list = [];
                    }

                    list.Add(score);
                }
            }
        }

        if (byKey.Count == 0)
        {
            return;
        }

        for (var i = 0; i < records.Count; i++)
        {
            if (byKey.TryGetValue((records[i].Seq, records[i].Replica ?? string.Empty), out var scores))
            {
                records[i] = records[i].WithScores([.. scores.TakeLast(MaxScoresPerRequest)]);
            }
        }
    }

    private static string EscapeLike(string value)
        => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    /// <summary>Runs a read; a database that cannot answer makes the store degraded (until a read works again) and
    /// the caller gets <see cref="LlmHistoryUnavailableException"/>, which the history API answers with 503.</summary>
    private T Read<T>(Func<NpgsqlCommand, T> read)
    {
        if (this.dataSource is null || !this.migrated)
        {
            throw new LlmHistoryUnavailableException(this.refused
                ? $"The request history database '{this.Database}' is refused: {this.Health.Reason}"
                : $"The request history database '{this.Database}' is not reached yet.");
        }

        try
        {
            T result;
            using (var connection = this.dataSource.OpenConnection())
            using (var command = connection.CreateCommand())
            {
                result = read(command);
            }

            if (Volatile.Read(ref this.readFailure) is not null)
            {
                lock (this.healthGate)
                {
                    this.readFailure = null;
                }
            }

            return result;
        }
        catch (Exception ex) when (PostgreSqlConnection.IsDatabaseProblem(ex))
        {
            var cause = PostgreSqlConnection.Cause(ex);
            bool first;
            lock (this.healthGate)
            {
                first = this.readFailure is null;
                this.readFailure = $"The request history database '{this.Database}' cannot be read: {cause}. The history API answers 503 until it can.";
            }

            if (first)
            {
                LogReadFailed(this.logger, this.Database, cause);
            }

            throw new LlmHistoryUnavailableException($"The request history database cannot be read: {cause}.", ex);
        }
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var found = await PostgreSqlHistorySchema.MigrateAsync(this.dataSource!, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (found < PostgreSqlHistorySchema.Version)
        {
            LogMigrated(this.logger, this.Database, found, PostgreSqlHistorySchema.Version);
        }

        this.migrated = true;
    }

    private async Task WriteLoopAsync()
    {
        var token = this.stopping.Token;

        // The schema first: a database that is down is retried, one that is newer than this package is refused.
        while (!this.migrated && !token.IsCancellationRequested)
        {
            try
            {
                await this.MigrateAsync(token).ConfigureAwait(false);
                this.WritesWorked();
            }
            catch (NewerSchemaException ex)
            {
                this.refused = true;
                this.WritesFailing(ex);
                var dropped = 0;
                while (this.queue.Reader.TryRead(out _))
                {
                    dropped++;
                }

                Interlocked.Add(ref this.pending, -dropped);
                this.queued.Clear();
                LlmHistoryDrops.Count(dropped, LlmHistoryDropReason.WriteFailed);
                return;
            }
            catch (Exception ex) when (PostgreSqlConnection.IsDatabaseProblem(ex) || ex is OperationCanceledException)
            {
                this.WritesFailing(ex);
                await Delay(this.options.RetryInterval, token).ConfigureAwait(false);
            }
        }

        var batch = new List<LlmRequestRecord>(this.options.BatchSize);
        var lastRetention = DateTime.UtcNow;
        var reader = this.queue.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            var started = DateTime.UtcNow;
            while (batch.Count < this.options.BatchSize && reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            await this.WriteWithRetryAsync(batch, token).ConfigureAwait(false);
            Interlocked.Add(ref this.pending, -batch.Count);
            foreach (var record in batch)
            {
                // Only this record's entry: a newer record with the same id may be queued behind it.
                this.queued.TryRemove(KeyValuePair.Create(record.Id, (record.Seq, record.Replica ?? this.InstanceId, record.Id)));
            }

            batch.Clear();

            if (DateTime.UtcNow - lastRetention >= RetentionEvery)
            {
                lastRetention = DateTime.UtcNow;
                try
                {
                    await this.ApplyRetentionAsync(token).ConfigureAwait(false);
                }
                catch (Exception ex) when (PostgreSqlConnection.IsDatabaseProblem(ex) || ex is OperationCanceledException)
                {
                    // The next minute tries again; writes report the database's state.
                }
            }

            // A full batch is written at once; otherwise gather for up to the flush interval.
            if (reader.Count < this.options.BatchSize && Volatile.Read(ref this.disposed) == 0)
            {
                var wait = this.options.FlushInterval - (DateTime.UtcNow - started);
                if (wait > TimeSpan.Zero)
                {
                    await Delay(wait, token).ConfigureAwait(false);
                }
            }
        }
    }

    // A database that is down keeps the batch (and the queue fills behind it); one that refuses the rows drops them.
    // A retry may follow a commit whose answer was lost: it writes only the records the database does not have yet.
    internal async Task WriteWithRetryAsync(List<LlmRequestRecord> batch, CancellationToken token, bool retry = false)
    {
        while (true)
        {
            try
            {
                await this.WriteAsync(batch, retry, token).ConfigureAwait(false);
                this.WritesWorked();
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && !retry)
            {
                // Rows of the batch are there already (a commit that answered late): write the others.
                retry = true;
            }
            catch (Exception ex) when ((PostgreSqlConnection.IsDatabaseProblem(ex) && PostgreSqlConnection.IsTransient(ex)) || ex is OperationCanceledException)
            {
                retry = true;
                this.WritesFailing(ex);
                if (token.IsCancellationRequested)
                {
                    LlmHistoryDrops.Count(batch.Count, LlmHistoryDropReason.WriteFailed);
                    return;
                }

                await Delay(this.options.RetryInterval, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (PostgreSqlConnection.IsDatabaseProblem(ex))
            {
                this.WritesFailing(ex);
                LlmHistoryDrops.Count(batch.Count, LlmHistoryDropReason.WriteFailed);
                return;
            }
        }
    }

    // The rows, their scores, the rollups and the replica's cursor in one transaction: all or none of a batch counts.
    private async Task WriteAsync(List<LlmRequestRecord> batch, bool retry, CancellationToken token)
    {
        await using var connection = await this.dataSource!.OpenConnectionAsync(token).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(token).ConfigureAwait(false);
        if (retry)
        {
            batch = await this.NotWrittenAsync(connection, batch, token).ConfigureAwait(false);
        }

        string? replica = null;
        var newest = 0L;
        Dictionary<string, long>? others = null;
        await using (var importer = await connection.BeginBinaryImportAsync(PostgreSqlHistorySchema.Copy, token).ConfigureAwait(false))
        {
            foreach (var record in batch)
            {
                var of = record.Replica ?? this.InstanceId;
                await PostgreSqlHistorySchema.WriteAsync(importer, record, of, token).ConfigureAwait(false);
                replica ??= of;
                if (string.Equals(of, replica, StringComparison.Ordinal))
                {
                    newest = Math.Max(newest, record.Seq);
                }
                else
                {
                    // Records given by hand may name other replicas; each gets its own cursor.
                    others ??= new Dictionary<string, long>(StringComparer.Ordinal);
                    others[of] = Math.Max(others.GetValueOrDefault(of), record.Seq);
                }
            }

            await importer.CompleteAsync(token).ConfigureAwait(false);
        }

        // The scores given while the requests ran; later ones are written by AddScore.
        if (batch.Exists(r => r.Scores.Count > 0))
        {
            await using var importer = await connection.BeginBinaryImportAsync(PostgreSqlHistorySchema.CopyScores, token).ConfigureAwait(false);
            foreach (var record in batch)
            {
                foreach (var score in record.Scores)
                {
                    await PostgreSqlHistorySchema.WriteScoreAsync(importer, record.Seq, record.Replica ?? this.InstanceId, record.Id, score, token).ConfigureAwait(false);
                }
            }

            await importer.CompleteAsync(token).ConfigureAwait(false);
        }

        var rollups = new Dictionary<PostgreSqlRollups.Key, PostgreSqlRollups.Sum>();
        foreach (var record in batch)
        {
            PostgreSqlRollups.Add(rollups, record, record.Replica ?? this.InstanceId);
        }

        await PostgreSqlRollups.UpsertAsync(connection, rollups, token).ConfigureAwait(false);

        // In the same transaction: the live stream of other replicas sees the rows and the cursor together.
        if (replica is not null)
        {
            await UpdateCursorAsync(connection, replica, newest, token).ConfigureAwait(false);
        }

        foreach (var (other, last) in others ?? [])
        {
            await UpdateCursorAsync(connection, other, last, token).ConfigureAwait(false);
        }

        await transaction.CommitAsync(token).ConfigureAwait(false);
    }

    /// <summary>The records of <paramref name="batch"/> whose (replica, seq) the table does not have, read on the write's
    /// transaction by the unique key's index.</summary>
    private async Task<List<LlmRequestRecord>> NotWrittenAsync(NpgsqlConnection connection, List<LlmRequestRecord> batch, CancellationToken token)
    {
        var written = new HashSet<(string, long)>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT replica, seq FROM {PostgreSqlHistorySchema.Table} WHERE (replica, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))";
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. batch.Select(r => r.Replica ?? this.InstanceId)] });
            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. batch.Select(r => r.Seq)] });
            await using var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
            while (await reader.ReadAsync(token).ConfigureAwait(false))
            {
                written.Add((reader.GetString(0), reader.GetInt64(1)));
            }
        }

        return written.Count == 0 ? batch : batch.FindAll(r => !written.Contains((r.Replica ?? this.InstanceId, r.Seq)));
    }

    private static async Task UpdateCursorAsync(NpgsqlConnection connection, string replica, long newest, CancellationToken token)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO {PostgreSqlHistorySchema.Replicas} (replica, last_seq, last_write) VALUES ($1, $2, now())
            ON CONFLICT (replica) DO UPDATE SET last_seq = GREATEST({PostgreSqlHistorySchema.Replicas}.last_seq, EXCLUDED.last_seq), last_write = now()
            """;
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = replica });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = newest });
        await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
    }

    // Batched deletes, each its own short transaction, by one replica at a time (an advisory lock): no long lock on
    // the table, and writers are never blocked. See the README for why not daily partitions.
    private async Task<long> ApplyRetentionAsync(CancellationToken token)
    {
        await using var connection = await this.dataSource!.OpenConnectionAsync(token).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT pg_try_advisory_lock(5507225004519292930)";
        if (!(bool)(await command.ExecuteScalarAsync(token).ConfigureAwait(false))!)
        {
            return 0;
        }

        try
        {
            command.CommandText = $"SELECT seq FROM {PostgreSqlHistorySchema.Table} ORDER BY seq DESC OFFSET $1 LIMIT 1";
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = this.options.RetentionCount - 1 });
            var cutoff = await command.ExecuteScalarAsync(token).ConfigureAwait(false) is long oldestKept ? oldestKept : long.MinValue;
            command.Parameters.Clear();
            command.CommandText = $"""
                DELETE FROM {PostgreSqlHistorySchema.Table} WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM {PostgreSqlHistorySchema.Table} WHERE start_time < $1 OR seq < $2 LIMIT {RetentionBatch}))
                """;
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = (DateTimeOffset.UtcNow - this.options.RetentionAge).UtcDateTime });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = cutoff });
            long deleted = 0;
            int count;
            do
            {
                count = await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                deleted += count;
            }
            while (count == RetentionBatch);

            // Rollups by age only: they outlive the count limit, so that a summary counts every request of its window.
            command.Parameters.Clear();
            command.CommandText = $"DELETE FROM {PostgreSqlRollups.Table} WHERE period < $1";
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = (DateTimeOffset.UtcNow - this.options.RetentionAge - TimeSpan.FromMinutes(PostgreSqlRollups.CoarseMinutes)).UtcDateTime });
            await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);

            // The scores of deleted requests. Not those of a newer record still in a write queue: its seq is above.
            command.Parameters.Clear();
            command.CommandText = $"""
                DELETE FROM {PostgreSqlHistorySchema.Scores} WHERE request_seq < (SELECT min(seq) FROM {PostgreSqlHistorySchema.Table})
                """;
            await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
            return deleted;
        }
        finally
        {
            command.Parameters.Clear();
            command.CommandText = "SELECT pg_advisory_unlock(5507225004519292930)";
            await command.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task Delay(TimeSpan wait, CancellationToken token)
    {
        try
        {
            await Task.Delay(wait, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the caller looks at the token.
        }
    }

    // The log says when failing starts and when it stops, never once per batch: a database that is down fails every one.
    private void WritesFailing(Exception exception)
    {
        var cause = PostgreSqlConnection.Cause(exception);
        bool first;
        lock (this.healthGate)
        {
            first = this.writeFailure is null;
            this.writeFailure = this.refused
                ? $"The request history database '{this.Database}' is refused: {cause}. New requests are not kept and are counted in llm_history_dropped_total."
                : $"The request history database '{this.Database}' cannot be written: {cause}. New requests wait in memory (up to LlmApm:PostgreSql:QueueCapacity, then counted in llm_history_dropped_total) until it can.";
        }

        if (first)
        {
            LogWritesFailing(this.logger, this.Database, cause, exception.GetType().Name);
            PostgreSqlHistoryEventSource.Log.Failing(this.Database, cause);
        }
    }

    private void WritesWorked()
    {
        if (Volatile.Read(ref this.writeFailure) is null)
        {
            return;
        }

        lock (this.healthGate)
        {
            this.writeFailure = null;
        }

        LogWritesResumed(this.logger, this.Database);
        PostgreSqlHistoryEventSource.Log.Resumed(this.Database);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error,
        Message = "The request history database '{Database}' cannot be written: {Cause}. The service keeps running; new requests wait in memory, or are counted in llm_history_dropped_total when the queue is full. ({ExceptionType})")]
    private static partial void LogWritesFailing(ILogger logger, string database, string cause, string exceptionType);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "The request history database '{Database}' is written again.")]
    private static partial void LogWritesResumed(ILogger logger, string database);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error,
        Message = "The request history database '{Database}' cannot be read: {Cause}. The history API answers 503 until it can.")]
    private static partial void LogReadFailed(ILogger logger, string database, string cause);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "The request history database '{Database}' was migrated from schema version {From} to {To}.")]
    private static partial void LogMigrated(ILogger logger, string database, int from, int to);
}
