using System.Globalization;
using System.Text.Json;
using LlmApm.Otel.History;
using Npgsql;
using NpgsqlTypes;

namespace LlmApm.Otel.PostgreSql.Implementation;

/// <summary>The store's own row and its migrations. One column per field of <see cref="LlmRequestRecord"/> (steps as
/// a compact JSON array in text), the replica beside them, and an index for every filter of the history API. The
/// version is in <c>llm_apm_schema</c>; each migration runs once, in one transaction, under an advisory lock, so
/// replicas that start together migrate once.</summary>
internal static class PostgreSqlHistorySchema
{
    public const int Version = 6;

    public const string Table = "llm_apm_requests";

    public const string Replicas = "llm_apm_replicas";

    public const string Scores = "llm_apm_scores";

    /// <summary>The columns a read of scores selects, in the order <see cref="ReadScore"/> expects.</summary>
    public const string ScoreColumns = "request_seq, replica, name, kind, value, label, polarity, comment, source, at";

    public const string CopyScores = $"COPY {Scores} (request_seq, replica, request_id, name, kind, value, label, polarity, comment, source, at) FROM STDIN (FORMAT BINARY)";

    /// <summary>The columns a read selects, in the order <see cref="Read"/> expects.</summary>
    public const string Columns = """
        seq, replica, id, trace_id, span_id, start_time, start_offset_minutes, duration_ms, route, model, provider,
        conversation_id, status, error_type, error_message, input_tokens, output_tokens, cached_input_tokens,
        reasoning_tokens, tokens_estimated, cost_usd, unpriced, steps, has_content, prompt, completion, user_id, tenant_id,
        properties, dropped_steps, cache_write_input_tokens
        """;

    public const string Copy = $"COPY {Table} ({Columns}, latency_bucket) FROM STDIN (FORMAT BINARY)";

    // Any 64-bit number: the advisory lock that serialises migrations and retention across replicas.
    private const long MigrationLock = 0x4c6c6d41706d0001;

    /// <summary>Migration n takes the schema from version n - 1 to n.</summary>
    private static readonly string[] Migrations =
    [
        string.Empty,

        // 1: the requests, with an index per filter. seq orders pages; lower(id)/lower(trace_id) with
        // text_pattern_ops serve both the exact id lookup and the q= prefix search.
        $"""
        CREATE TABLE {Table} (
            seq bigint NOT NULL,
            replica text NOT NULL,
            id text NOT NULL,
            trace_id text NOT NULL,
            span_id text,
            start_time timestamptz NOT NULL,
            start_offset_minutes smallint NOT NULL,
            duration_ms double precision NOT NULL,
            route text NOT NULL,
            model text,
            provider text,
            conversation_id text,
            status text NOT NULL,
            error_type text,
            error_message text,
            input_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            cached_input_tokens bigint NOT NULL,
            reasoning_tokens bigint NOT NULL,
            tokens_estimated boolean NOT NULL,
            cost_usd numeric,
            unpriced boolean NOT NULL,
            steps text NOT NULL,
            has_content boolean NOT NULL,
            prompt text,
            completion text
        );
        CREATE INDEX ix_{Table}_seq ON {Table} (seq);
        CREATE INDEX ix_{Table}_start ON {Table} (start_time);
        CREATE INDEX ix_{Table}_id ON {Table} (lower(id) text_pattern_ops);
        CREATE INDEX ix_{Table}_trace ON {Table} (lower(trace_id) text_pattern_ops);
        CREATE INDEX ix_{Table}_status ON {Table} (status, seq);
        CREATE INDEX ix_{Table}_model ON {Table} (model, seq);
        CREATE INDEX ix_{Table}_route ON {Table} (route, seq);
        """,

        // 2: the replicas and the newest number each has written, which the live stream reads to find other
        // replicas' new records without scanning; and the replica filter.
        $"""
        CREATE TABLE {Replicas} (
            replica text PRIMARY KEY,
            last_seq bigint NOT NULL,
            last_write timestamptz NOT NULL
        );
        INSERT INTO {Replicas} (replica, last_seq, last_write)
            SELECT replica, MAX(seq), now() FROM {Table} GROUP BY replica;
        CREATE INDEX ix_{Table}_replica ON {Table} (replica, seq);
        """,

        // 3: the latency bucket of LlmLatencyBuckets, computed when written, so that aggregates group by it in SQL
        // exactly as the other stores do in memory. Rows of version 2 get it from the same formula in SQL (a value on a
        // bucket's bound may land one bucket off, within the buckets' stated error).
        $"""
        ALTER TABLE {Table} ADD COLUMN latency_bucket smallint;
        UPDATE {Table} SET latency_bucket = CASE WHEN duration_ms <= 0.1 THEN 0
            ELSE LEAST({LlmLatencyBuckets.Count - 1}, GREATEST(0, ceil(log(2.0, (duration_ms / 0.1)::numeric) * 8)))::smallint END;
        ALTER TABLE {Table} ALTER COLUMN latency_bucket SET NOT NULL;
        """,

        // 4: scores, apart from their request: one given after the request may come before its row is written, so
        // there is no foreign key; a score names its request by seq and replica (the request's key) and keeps its id.
        // Kind and polarity are the enums' numbers; a request's scores are read oldest first (at, then id).
        $"""
        CREATE TABLE {Scores} (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            request_seq bigint NOT NULL,
            replica text NOT NULL,
            request_id text NOT NULL,
            name text NOT NULL,
            kind smallint NOT NULL,
            value double precision,
            label text,
            polarity smallint NOT NULL,
            comment text,
            source text,
            at timestamptz NOT NULL
        );
        CREATE INDEX ix_{Scores}_request ON {Scores} (request_seq);
        """,

        // 5: who the request was for, and the steps dropped past the per-request bound. The user and tenant filters
        // page through (key, seq) as the others do, and narrow the spend query's window with the start-time index; the
        // properties are jsonb (NULL when none) with a GIN index for both "has key" (?) and "key is value" (@>).
        // Existing rows get NULL and 0: adding a column with a constant default rewrites nothing. Also the input tokens
        // written to the provider's cache, new in the same release.
        $"""
        ALTER TABLE {Table} ADD COLUMN user_id text, ADD COLUMN tenant_id text, ADD COLUMN properties jsonb,
            ADD COLUMN dropped_steps integer NOT NULL DEFAULT 0, ADD COLUMN cache_write_input_tokens bigint NOT NULL DEFAULT 0;
        CREATE INDEX ix_{Table}_tenant ON {Table} (tenant_id, seq);
        CREATE INDEX ix_{Table}_user ON {Table} (user_id, seq);
        CREATE INDEX ix_{Table}_properties ON {Table} USING gin (properties);
        """,

        // 6: the rollups that aggregates read (filled from the existing rows by the migration, see MigrateAsync), and
        // a unique key on (replica, seq), so that a batch written again after its commit's answer was lost adds no
        // row: before it, such a batch was kept twice, and one copy of each is deleted here. The key's index replaces
        // the replica filter's (same columns). Written to run again on a half-migrated database.
        $"""
        {PostgreSqlRollups.CreateSql}
        DELETE FROM {Table} a USING {Table} b WHERE a.replica = b.replica AND a.seq = b.seq AND a.ctid > b.ctid;
        CREATE UNIQUE INDEX IF NOT EXISTS ux_{Table}_replica_seq ON {Table} (replica, seq);
        DROP INDEX IF EXISTS ix_{Table}_replica;
        """,
    ];

    /// <summary>The version whose migration also fills the rollups from the rows.</summary>
    private const int RollupsVersion = 6;

    /// <summary>Creates the tables or migrates them to <paramref name="target"/> (tests stop at an older one).</summary>
    /// <returns>The version found.</returns>
    /// <exception cref="NewerSchemaException">The database was written by a newer version of this package.</exception>
    public static async Task<int> MigrateAsync(NpgsqlDataSource dataSource, int target = Version, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            SELECT pg_advisory_xact_lock({MigrationLock});
            CREATE TABLE IF NOT EXISTS llm_apm_schema (version integer NOT NULL);
            SELECT COALESCE(MAX(version), 0) FROM llm_apm_schema;
            """;
        int found;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            found = reader.GetInt32(0);
        }

        if (found > Version)
        {
            throw new NewerSchemaException(found);
        }

        for (var version = found + 1; version <= target; version++)
        {
            command.CommandText = Migrations[version];
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (version == RollupsVersion)
            {
                // In the migration's transaction, under its lock: no writer of this version adds to the rollups meanwhile.
                await PostgreSqlRollups.BackfillAsync(connection, token: cancellationToken).ConfigureAwait(false);
            }
        }

        if (target > found)
        {
            command.CommandText = $"DELETE FROM llm_apm_schema; INSERT INTO llm_apm_schema (version) VALUES ({target.ToString(CultureInfo.InvariantCulture)});";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <summary>Writes one row of a binary COPY opened with <see cref="Copy"/>.</summary>
    public static async Task WriteAsync(NpgsqlBinaryImporter importer, LlmRequestRecord record, string replica, CancellationToken cancellationToken)
    {
        await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
        importer.Write(record.Seq, NpgsqlDbType.Bigint);
        importer.Write(replica, NpgsqlDbType.Text);
        importer.Write(record.Id, NpgsqlDbType.Text);
        importer.Write(record.TraceId, NpgsqlDbType.Text);
        Text(importer, record.SpanId);
        importer.Write(record.StartTime.UtcDateTime, NpgsqlDbType.TimestampTz);
        importer.Write((short)record.StartTime.Offset.TotalMinutes, NpgsqlDbType.Smallint);
        importer.Write(record.DurationMs, NpgsqlDbType.Double);
        importer.Write(record.Route, NpgsqlDbType.Text);
        Text(importer, record.Model);
        Text(importer, record.Provider);
        Text(importer, record.ConversationId);
        importer.Write(record.Status, NpgsqlDbType.Text);
        Text(importer, record.ErrorType);
        Text(importer, record.ErrorMessage);
        importer.Write(record.Usage.InputTokens, NpgsqlDbType.Bigint);
        importer.Write(record.Usage.OutputTokens, NpgsqlDbType.Bigint);
        importer.Write(record.Usage.CachedInputTokens, NpgsqlDbType.Bigint);
        importer.Write(record.Usage.ReasoningTokens, NpgsqlDbType.Bigint);
        importer.Write(record.Usage.Estimated, NpgsqlDbType.Boolean);
        if (record.CostUsd is { } cost)
        {
            importer.Write(cost, NpgsqlDbType.Numeric);
        }
        else
        {
            importer.WriteNull();
        }

        importer.Write(record.Unpriced, NpgsqlDbType.Boolean);
        importer.Write(LlmStepCodec.Write(record.Steps), NpgsqlDbType.Text);
        importer.Write(record.Content is not null, NpgsqlDbType.Boolean);
        Text(importer, record.Content?.Prompt);
        Text(importer, record.Content?.Completion);
        Text(importer, record.UserId);
        Text(importer, record.TenantId);
        if (LlmPropertiesCodec.Write(record.Properties) is { } properties)
        {
            importer.Write(properties, NpgsqlDbType.Jsonb);
        }
        else
        {
            importer.WriteNull();
        }

        importer.Write(record.DroppedSteps, NpgsqlDbType.Integer);
        importer.Write(record.Usage.CacheWriteInputTokens, NpgsqlDbType.Bigint);
        importer.Write((short)LlmLatencyBuckets.IndexOf(record.DurationMs), NpgsqlDbType.Smallint);
    }

    /// <summary>Writes one score row of a binary COPY opened with <see cref="CopyScores"/>.</summary>
    public static async Task WriteScoreAsync(NpgsqlBinaryImporter importer, long requestSeq, string replica, string requestId, LlmScore score, CancellationToken cancellationToken)
    {
        await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
        importer.Write(requestSeq, NpgsqlDbType.Bigint);
        importer.Write(replica, NpgsqlDbType.Text);
        importer.Write(requestId, NpgsqlDbType.Text);
        importer.Write(score.Name, NpgsqlDbType.Text);
        importer.Write((short)score.Kind, NpgsqlDbType.Smallint);
        if (score.Value is { } value)
        {
            importer.Write(value, NpgsqlDbType.Double);
        }
        else
        {
            importer.WriteNull();
        }

        Text(importer, score.Label);
        importer.Write((short)score.Polarity, NpgsqlDbType.Smallint);
        Text(importer, score.Comment);
        Text(importer, score.Source);
        importer.Write(score.Timestamp.UtcDateTime, NpgsqlDbType.TimestampTz);
    }

    /// <summary>Reads a score row selected with <see cref="ScoreColumns"/>; a row this version cannot read (a newer
    /// kind, a bound broken by hand) is skipped rather than failing the page.</summary>
    public static LlmScore? ReadScore(NpgsqlDataReader reader)
    {
        try
        {
            var name = reader.GetString(2);
            var value = reader.IsDBNull(4) ? (double?)null : reader.GetDouble(4);
            var label = StringOrNull(reader, 5);
            var polarity = (LlmScorePolarity)reader.GetInt16(6);
            var comment = StringOrNull(reader, 7);
            var source = StringOrNull(reader, 8);
            var time = new DateTimeOffset(DateTime.SpecifyKind(reader.GetFieldValue<DateTime>(9), DateTimeKind.Utc));
            return (LlmScoreKind)reader.GetInt16(3) switch
            {
                LlmScoreKind.Numeric => LlmScore.Numeric(name, value ?? 0, label, comment, source, polarity, time),
                LlmScoreKind.Boolean => LlmScore.Boolean(name, value is > 0, comment, source, polarity, time),
                LlmScoreKind.Label => LlmScore.Categorical(name, label ?? "?", comment, source, polarity, time),
                _ => null,
            };
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Reads a row selected with <see cref="Columns"/>, or skips it (<c>null</c>) when its steps or properties
    /// are not the JSON this package writes (a row changed by hand or damaged): one bad row must not fail a page, and
    /// the history API must not answer 500. The skip is counted in the <c>LlmApm-PostgreSql</c> event source with the
    /// row's number, never its content.</summary>
    public static LlmRequestRecord? ReadOrSkip(NpgsqlDataReader reader)
    {
        try
        {
            return Read(reader);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException { Source: not "Npgsql" } or IndexOutOfRangeException or FormatException or KeyNotFoundException)
        {
            PostgreSqlHistoryEventSource.Log.Skipped(reader.GetInt64(0), reader.GetString(1), ex is JsonException ? nameof(JsonException) : ex.GetType().Name);
            return null;
        }
    }

    /// <summary>Reads a row selected with <see cref="Columns"/>.</summary>
    private static LlmRequestRecord Read(NpgsqlDataReader reader)
    {
        var utc = reader.GetFieldValue<DateTime>(5);
        var offset = TimeSpan.FromMinutes(reader.GetInt16(6));
        return new LlmRequestRecord
        {
            Id = reader.GetString(2),
            TraceId = reader.GetString(3),
            SpanId = StringOrNull(reader, 4),
            StartTime = new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Unspecified) + offset, offset),
            DurationMs = reader.GetDouble(7),
            Route = reader.GetString(8),
            Model = StringOrNull(reader, 9),
            Provider = StringOrNull(reader, 10),
            ConversationId = StringOrNull(reader, 11),
            Replica = reader.GetString(1),
            Status = reader.GetString(12),
            ErrorType = StringOrNull(reader, 13),
            ErrorMessage = StringOrNull(reader, 14),
            Usage = new LlmUsage(reader.GetInt64(15), reader.GetInt64(16), reader.GetInt64(17), reader.GetInt64(18), reader.GetBoolean(19))
            {
                CacheWriteInputTokens = reader.GetInt64(30),
            },
            CostUsd = reader.IsDBNull(20) ? null : reader.GetDecimal(20),
            Unpriced = reader.GetBoolean(21),
            Steps = LlmStepCodec.Read(reader.GetString(22), out var droppedInSteps),
            Content = reader.GetBoolean(23) ? new LlmContentRecord(StringOrNull(reader, 24), StringOrNull(reader, 25)) : null,
            UserId = StringOrNull(reader, 26),
            TenantId = StringOrNull(reader, 27),
            Properties = LlmPropertiesCodec.Read(StringOrNull(reader, 28)),

            // The column since version 5; a row copied from another store may carry the number in its steps.
            DroppedSteps = reader.GetInt32(29) is var dropped and not 0 ? dropped : droppedInSteps,
        }.WithSeq(reader.GetInt64(0));
    }

    private static void Text(NpgsqlBinaryImporter importer, string? value)
    {
        if (value is null)
        {
            importer.WriteNull();
        }
        else
        {
            importer.Write(value, NpgsqlDbType.Text);
        }
    }

    private static string? StringOrNull(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}

/// <summary>The database was written by a newer version of this package.</summary>
internal sealed class NewerSchemaException(int version)
    : Exception($"its history schema has version {version}, newer than this version of LlmApm.Otel.PostgreSql writes ({PostgreSqlHistorySchema.Version}); upgrade the package on every replica, or point ConnectionStrings:LlmApmHistory at another database")
{
    public int FoundVersion { get; } = version;
}
