using System.Globalization;
using System.Text.Json;
using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;

namespace LlmApm.Otel.Sqlite.Implementation;

/// <summary>The store's own row: one column per property of <see cref="LlmRequestRecord"/> (steps as a compact
/// array), so that the public record can change shape without changing what is on disk, and the filters read
/// columns. Also the migration from version 1, which kept the record as JSON.</summary>
internal static class SqliteHistorySchema
{
    /// <summary>Adds <c>AND column = $column</c> for each filter that has a value: the history's pages and the spend
    /// query filter the same columns the same way.</summary>
    public static void AppendEquals(System.Text.StringBuilder sql, SqliteCommand command, ReadOnlySpan<(string Column, string? Value)> filters)
    {
        foreach (var (column, value) in filters)
        {
            if (value is not null)
            {
                sql.Append(" AND ").Append(column).Append(" = $").Append(column);
                command.Parameters.AddWithValue("$" + column, value);
            }
        }
    }

    public const int Version = 5;

    /// <summary>The columns a read selects, in the order <see cref="Read"/> expects.</summary>
    public const string Columns = """
        seq, id, trace_id, span_id, start_utc_ticks, start_offset_minutes, duration_ms, route, model, provider,
        conversation_id, status, error_type, error_message, input_tokens, output_tokens, cached_input_tokens,
        reasoning_tokens, tokens_estimated, cost_usd, unpriced, steps, has_content, prompt, completion, replica, user_id, tenant_id,
        properties, cache_write_input_tokens
        """;

    private const string CreateTable = """
        CREATE TABLE requests (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL,
            trace_id TEXT NOT NULL,
            span_id TEXT,
            start_utc_ticks INTEGER NOT NULL,
            start_offset_minutes INTEGER NOT NULL,
            duration_ms REAL NOT NULL,
            route TEXT NOT NULL,
            model TEXT,
            provider TEXT,
            conversation_id TEXT,
            status TEXT NOT NULL,
            error_type TEXT,
            error_message TEXT,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cached_input_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            tokens_estimated INTEGER NOT NULL,
            cost_usd TEXT,
            unpriced INTEGER NOT NULL,
            steps TEXT NOT NULL,
            has_content INTEGER NOT NULL,
            prompt TEXT,
            completion TEXT
        );
        CREATE INDEX ix_requests_id ON requests (id COLLATE NOCASE);
        CREATE INDEX ix_requests_start ON requests (start_utc_ticks);
        """;

    // Version 3: the replica that served each request, and the index its filter pages with (newest first).
    private const string AddReplica = """
        ALTER TABLE requests ADD COLUMN replica TEXT;
        CREATE INDEX ix_requests_replica ON requests (replica, seq);
        """;

    private const string Insert = """
        INSERT OR REPLACE INTO requests (seq, id, trace_id, span_id, start_utc_ticks, start_offset_minutes, duration_ms,
            route, model, provider, conversation_id, status, error_type, error_message, input_tokens, output_tokens,
            cached_input_tokens, reasoning_tokens, tokens_estimated, cost_usd, unpriced, steps, has_content, prompt, completion,
            replica, user_id, tenant_id, properties, cache_write_input_tokens)
        VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6, $p7, $p8, $p9, $p10, $p11, $p12, $p13, $p14, $p15, $p16, $p17, $p18,
            $p19, $p20, $p21, $p22, $p23, $p24, $p25, $p26, $p27, $p28, $p29)
        """;

    private const int ColumnCount = 30;

    // Version 5: who the request was for. The user and tenant filters page through their indexes (newest first), as the
    // replica's does; properties are a JSON object (NULL when none), filtered with json_each. Also the input tokens
    // written to the provider's cache, new in the same release.
    private const string AddAttribution = """
        ALTER TABLE requests ADD COLUMN user_id TEXT;
        ALTER TABLE requests ADD COLUMN tenant_id TEXT;
        ALTER TABLE requests ADD COLUMN properties TEXT;
        ALTER TABLE requests ADD COLUMN cache_write_input_tokens INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX ix_requests_tenant ON requests (tenant_id, seq);
        CREATE INDEX ix_requests_user ON requests (user_id, seq);
        """;

    // Version 4: scores, apart from their request (they come after it), found by the request's seq.
    private const string CreateScores = """
        CREATE TABLE IF NOT EXISTS scores (
            request_seq INTEGER NOT NULL,
            name TEXT NOT NULL,
            kind INTEGER NOT NULL,
            value REAL,
            label TEXT,
            polarity INTEGER NOT NULL,
            comment TEXT,
            source TEXT,
            utc_ticks INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_scores_request ON scores (request_seq);
        """;

    private const string InsertScore = """
        INSERT INTO scores (request_seq, name, kind, value, label, polarity, comment, source, utc_ticks)
        VALUES ($seq, $name, $kind, $value, $label, $polarity, $comment, $source, $ticks)
        """;

    /// <summary>The columns a read of scores selects, in the order <see cref="ReadScore"/> expects.</summary>
    public const string ScoreColumns = "request_seq, name, kind, value, label, polarity, comment, source, utc_ticks";

    /// <summary>Creates the table or migrates it to <see cref="Version"/>, inside the caller's transaction.</summary>
    /// <returns>The version found, for the log.</returns>
    public static int Migrate(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version;";
        var version = Convert.ToInt32(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (version > Version)
        {
            throw new NewerSchemaException(version);
        }

        if (version == Version)
        {
            return version;
        }

        if (version == 1)
        {
            // Version 1 kept each record as JSON, with the filter columns beside it.
            command.CommandText = "DROP INDEX IF EXISTS ix_requests_id; DROP INDEX IF EXISTS ix_requests_start; ALTER TABLE requests RENAME TO requests_v1;";
            command.ExecuteNonQuery();
        }

        // Each step brings the table from the version before it: an empty file and version 1 start from version 2's
        // table and take every later step; version 1's rows are copied into the final table (with no replica).
        if (version < 2)
        {
            command.CommandText = CreateTable;
            command.ExecuteNonQuery();
        }

        if (version < 3)
        {
            command.CommandText = AddReplica;
            command.ExecuteNonQuery();
        }

        if (version < 4)
        {
            command.CommandText = CreateScores;
            command.ExecuteNonQuery();
        }

        if (version < 5)
        {
            command.CommandText = AddAttribution;
            command.ExecuteNonQuery();
        }

        if (version == 1)
        {
            CopyVersion1(connection, transaction);
            command.CommandText = "DROP TABLE requests_v1;";
            command.ExecuteNonQuery();
        }

        command.CommandText = $"PRAGMA user_version = {Version};";
        command.ExecuteNonQuery();
        return version;
    }

    /// <summary>A command that writes records: set its parameters with <see cref="Bind"/>.</summary>
    public static SqliteCommand CreateInsert(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = Insert;
        for (var i = 0; i < ColumnCount; i++)
        {
            command.Parameters.Add(new SqliteParameter("$p" + i.ToString(CultureInfo.InvariantCulture), null));
        }

        return command;
    }

    public static void Bind(SqliteCommand insert, LlmRequestRecord record) => BindRow(insert, record.Seq, record);

    /// <summary>A command that writes scores: run it with <see cref="WriteScore"/>.</summary>
    public static SqliteCommand CreateScoreInsert(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = InsertScore;
        foreach (var name in (string[])["$seq", "$name", "$kind", "$value", "$label", "$polarity", "$comment", "$source", "$ticks"])
        {
            command.Parameters.Add(new SqliteParameter(name, null));
        }

        return command;
    }

    public static void WriteScore(SqliteCommand insert, long requestSeq, LlmScore score)
    {
        var p = insert.Parameters;
        p[0].Value = requestSeq;
        p[1].Value = score.Name;
        p[2].Value = (long)score.Kind;
        p[3].Value = score.Value is { } value ? value : DBNull.Value;
        p[4].Value = OrNull(score.Label);
        p[5].Value = (long)score.Polarity;
        p[6].Value = OrNull(score.Comment);
        p[7].Value = OrNull(score.Source);
        p[8].Value = score.Timestamp.UtcTicks;
        insert.ExecuteNonQuery();
    }

    /// <summary>Reads a row selected with <see cref="ScoreColumns"/>; a row this version cannot read is skipped.</summary>
    public static LlmScore? ReadScore(SqliteDataReader reader)
    {
        try
        {
            var name = reader.GetString(1);
            var value = reader.IsDBNull(3) ? (double?)null : reader.GetDouble(3);
            var label = StringOrNull(reader, 4);
            var polarity = (LlmScorePolarity)reader.GetInt64(5);
            var comment = StringOrNull(reader, 6);
            var source = StringOrNull(reader, 7);
            var time = new DateTimeOffset(reader.GetInt64(8), TimeSpan.Zero);
            return (LlmScoreKind)reader.GetInt64(2) switch
            {
                LlmScoreKind.Boolean => LlmScore.Boolean(name, value is > 0, comment, source, polarity, time),
                LlmScoreKind.Label => LlmScore.Categorical(name, label ?? "?", comment, source, polarity, time),
                _ => LlmScore.Numeric(name, value ?? 0, label, comment, source, polarity, time),
            };
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static void BindRow(SqliteCommand insert, long seq, LlmRequestRecord record)
    {
        var p = insert.Parameters;
        p[0].Value = seq;
        p[1].Value = record.Id;
        p[2].Value = record.TraceId;
        p[3].Value = OrNull(record.SpanId);
        p[4].Value = record.StartTime.UtcTicks;
        p[5].Value = (long)record.StartTime.Offset.TotalMinutes;
        p[6].Value = record.DurationMs;
        p[7].Value = record.Route;
        p[8].Value = OrNull(record.Model);
        p[9].Value = OrNull(record.Provider);
        p[10].Value = OrNull(record.ConversationId);
        p[11].Value = record.Status;
        p[12].Value = OrNull(record.ErrorType);
        p[13].Value = OrNull(record.ErrorMessage);
        p[14].Value = record.Usage.InputTokens;
        p[15].Value = record.Usage.OutputTokens;
        p[16].Value = record.Usage.CachedInputTokens;
        p[17].Value = record.Usage.ReasoningTokens;
        p[18].Value = record.Usage.Estimated ? 1 : 0;

        // Text keeps a decimal exactly, scale included; REAL would round it.
        p[19].Value = record.CostUsd is { } cost ? cost.ToString(CultureInfo.InvariantCulture) : DBNull.Value;
        p[20].Value = record.Unpriced ? 1 : 0;
        p[21].Value = LlmStepCodec.Write(record.Steps, record.DroppedSteps);
        p[22].Value = record.Content is null ? 0 : 1;
        p[23].Value = OrNull(record.Content?.Prompt);
        p[24].Value = OrNull(record.Content?.Completion);
        p[25].Value = OrNull(record.Replica);
        p[26].Value = OrNull(record.UserId);
        p[27].Value = OrNull(record.TenantId);
        p[28].Value = OrNull(LlmPropertiesCodec.Write(record.Properties));
        p[29].Value = record.Usage.CacheWriteInputTokens;
    }

    /// <summary>Reads a row selected with <see cref="Columns"/>.</summary>
    public static LlmRequestRecord Read(SqliteDataReader reader)
    {
        var ticks = reader.GetInt64(4);
        var offset = TimeSpan.FromMinutes(reader.GetInt64(5));
        return new LlmRequestRecord
        {
            Id = reader.GetString(1),
            TraceId = reader.GetString(2),
            SpanId = StringOrNull(reader, 3),
            StartTime = new DateTimeOffset(ticks + offset.Ticks, offset),
            DurationMs = reader.GetDouble(6),
            Route = reader.GetString(7),
            Model = StringOrNull(reader, 8),
            Provider = StringOrNull(reader, 9),
            ConversationId = StringOrNull(reader, 10),
            Status = reader.GetString(11),
            ErrorType = StringOrNull(reader, 12),
            ErrorMessage = StringOrNull(reader, 13),
            Usage = new LlmUsage(reader.GetInt64(14), reader.GetInt64(15), reader.GetInt64(16), reader.GetInt64(17), reader.GetInt64(18) != 0)
            {
                CacheWriteInputTokens = reader.GetInt64(29),
            },
            CostUsd = reader.IsDBNull(19) ? null : decimal.Parse(reader.GetString(19), NumberStyles.Number, CultureInfo.InvariantCulture),
            Unpriced = reader.GetInt64(20) != 0,
            Steps = LlmStepCodec.Read(reader.GetString(21), out var droppedSteps),
            DroppedSteps = droppedSteps,
            Content = reader.GetInt64(22) != 0 ? new LlmContentRecord(StringOrNull(reader, 23), StringOrNull(reader, 24)) : null,
            Replica = StringOrNull(reader, 25),
            UserId = StringOrNull(reader, 26),
            TenantId = StringOrNull(reader, 27),
            Properties = LlmPropertiesCodec.Read(StringOrNull(reader, 28)),
        }.WithSeq(reader.GetInt64(0));
    }

    /// <summary>Reads the figures of a row for the rollups: start, duration, route, model, replica, status, error type,
    /// the four token counts, cost, unpriced, id and cache-write tokens, in that order.</summary>
    public static LlmRequestRecord ReadFigures(SqliteDataReader reader) => new()
    {
        Id = reader.GetString(13),
        TraceId = string.Empty,
        StartTime = new DateTimeOffset(reader.GetInt64(0), TimeSpan.Zero),
        DurationMs = reader.GetDouble(1),
        Route = reader.GetString(2),
        Model = StringOrNull(reader, 3),
        Replica = StringOrNull(reader, 4),
        Status = reader.GetString(5),
        ErrorType = StringOrNull(reader, 6),
        Usage = new LlmUsage(reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10))
        {
            CacheWriteInputTokens = reader.GetInt64(14),
        },
        CostUsd = reader.IsDBNull(11) ? null : decimal.Parse(reader.GetString(11), NumberStyles.Number, CultureInfo.InvariantCulture),
        Unpriced = reader.GetInt64(12) != 0,
    };

    private static void CopyVersion1(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = "SELECT seq, record FROM requests_v1 ORDER BY seq";
        using var insert = CreateInsert(connection, transaction);
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            BindRow(insert, reader.GetInt64(0), ReadVersion1(reader.GetString(1)));
            insert.ExecuteNonQuery();
        }
    }

    // Version 1 wrote the record with the web defaults of System.Text.Json (camelCase), as the history API does.
    private static LlmRequestRecord ReadVersion1(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var tokens = root.TryGetProperty("tokens", out var t) ? t : default;
        var content = root.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        var steps = new List<LlmStepRecord>();
        if (root.TryGetProperty("steps", out var s) && s.ValueKind == JsonValueKind.Array)
        {
            foreach (var step in s.EnumerateArray())
            {
                steps.Add(new LlmStepRecord(
                    Text(step, "name") ?? string.Empty,
                    Number(step, "offsetMs"),
                    Number(step, "durationMs"),
                    Text(step, "status") ?? "ok",
                    Text(step, "errorType"),
                    (int)Number(step, "depth"),
                    Text(step, "kind") ?? LlmStepKinds.Step));
            }
        }

        return new LlmRequestRecord
        {
            Id = Text(root, "id") ?? string.Empty,
            TraceId = Text(root, "traceId") ?? string.Empty,
            SpanId = Text(root, "spanId"),
            StartTime = root.TryGetProperty("startTime", out var start) ? start.GetDateTimeOffset() : default,
            DurationMs = Number(root, "durationMs"),
            Route = Text(root, "route") ?? string.Empty,
            Model = Text(root, "model"),
            Provider = Text(root, "provider"),
            ConversationId = Text(root, "conversationId"),
            Status = Text(root, "status") ?? "ok",
            ErrorType = Text(root, "errorType"),
            ErrorMessage = Text(root, "errorMessage"),
            Usage = tokens.ValueKind == JsonValueKind.Object
                ? new LlmUsage(
                    (long)Number(tokens, "input"),
                    (long)Number(tokens, "output"),
                    (long)Number(tokens, "cachedInput"),
                    (long)Number(tokens, "reasoning"),
                    tokens.TryGetProperty("estimated", out var e) && e.ValueKind == JsonValueKind.True)
                : default,
            CostUsd = root.TryGetProperty("costUsd", out var cost) && cost.ValueKind == JsonValueKind.Number ? cost.GetDecimal() : null,
            Unpriced = root.TryGetProperty("unpriced", out var u) && u.ValueKind == JsonValueKind.True,
            Steps = steps,
            Content = content.ValueKind == JsonValueKind.Object ? new LlmContentRecord(Text(content, "prompt"), Text(content, "completion")) : null,
        };
    }

    private static string? Text(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static double Number(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : 0;

    private static object OrNull(string? value) => (object?)value ?? DBNull.Value;

    private static string? StringOrNull(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}

/// <summary>The database was written by a newer version of this package.</summary>
internal sealed class NewerSchemaException(int version)
    : Exception($"it has schema version {version}, newer than this version of LlmApm.Otel.Sqlite reads ({SqliteHistorySchema.Version})")
{
    public int FoundVersion { get; } = version;
}
