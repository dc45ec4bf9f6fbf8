using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LlmApm.Otel.History;
using Npgsql;
using NpgsqlTypes;

namespace LlmApm.Otel.PostgreSql.Implementation;

/// <summary>
/// The history's aggregates kept in the database (<c>llm_apm_rollups</c>), so that a 24-hour summary reads about a
/// hundred rows per model, route and replica instead of every request: per minute and per half hour, one row per
/// replica, model and route with counts, tokens, exact cost, errors by type, the fixed latency buckets and the
/// slowest request. The writer adds a batch's requests to them in the batch's own transaction.
/// </summary>
/// <remarks>
/// A null model is kept as the empty string, so that the key has no nulls (a unique key on PostgreSQL before 15
/// treats nulls as distinct); a request whose model is the empty string is counted with those without one.
/// </remarks>
internal static class PostgreSqlRollups
{
    public const string Table = "llm_apm_rollups";

    /// <summary>The coarse period: it divides the 24-hour series' 30-minute buckets and a day.</summary>
    public const int CoarseMinutes = 30;

    private static readonly long MinuteTicks = TimeSpan.TicksPerMinute;
    private static readonly long CoarseTicks = TimeSpan.TicksPerMinute * CoarseMinutes;

    /// <summary>The migration that creates the table and the two functions that add a row to another.</summary>
    public static string CreateSql => $$"""
        CREATE OR REPLACE FUNCTION llm_apm_add_buckets(a bigint[], b bigint[]) RETURNS bigint[]
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT COALESCE(array_agg(COALESCE(x, 0) + COALESCE(y, 0) ORDER BY i), '{}') FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i) $$;
        CREATE OR REPLACE FUNCTION llm_apm_add_counts(a jsonb, b jsonb) RETURNS jsonb
            LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE (
                SELECT jsonb_object_agg(k, n) FROM (
                    SELECT k, sum(v::bigint) AS n FROM (SELECT * FROM jsonb_each_text(a) UNION ALL SELECT * FROM jsonb_each_text(b)) AS e(k, v)
                    GROUP BY k) AS g) END $$;
        CREATE TABLE IF NOT EXISTS {{Table}} (
            minutes smallint NOT NULL,
            period timestamptz NOT NULL,
            replica text NOT NULL,
            route text NOT NULL,
            model text NOT NULL,
            requests bigint NOT NULL,
            errors bigint NOT NULL,
            duration_ms double precision NOT NULL,
            input_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            cached_input_tokens bigint NOT NULL,
            reasoning_tokens bigint NOT NULL,
            cache_write_input_tokens bigint NOT NULL,
            cost_usd numeric NOT NULL,
            unpriced bigint NOT NULL,
            errors_by_type jsonb,
            latency bigint[] NOT NULL,
            slowest_id text,
            slowest_ms double precision NOT NULL,
            PRIMARY KEY (minutes, period, replica, route, model)
        );
        """;

    /// <summary>The columns a read selects, after the period's length and start.</summary>
    private const string Figures = """
        model, requests, errors, duration_ms, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens,
        cache_write_input_tokens, cost_usd, unpriced, errors_by_type::text, latency, slowest_id, slowest_ms
        """;

    /// <summary>The requests of one replica, model and route that started in one period, added up.</summary>
    public readonly record struct Key(short Minutes, DateTime Period, string Replica, string Route, string Model) : IComparable<Key>
    {
        public int CompareTo(Key other)
        {
            var c = this.Minutes.CompareTo(other.Minutes);
            c = c != 0 ? c : this.Period.CompareTo(other.Period);
            c = c != 0 ? c : string.CompareOrdinal(this.Replica, other.Replica);
            c = c != 0 ? c : string.CompareOrdinal(this.Route, other.Route);
            return c != 0 ? c : string.CompareOrdinal(this.Model, other.Model);
        }
    }

    /// <summary>Adds a record to both periods it started in.</summary>
    public static void Add(Dictionary<Key, Sum> cells, LlmRequestRecord record, string replica)
    {
        var ticks = record.StartTime.UtcTicks;
        foreach (var (minutes, length) in new[] { ((short)1, MinuteTicks), ((short)CoarseMinutes, CoarseTicks) })
        {
            var key = new Key(minutes, new DateTime(ticks - (ticks % length), DateTimeKind.Utc), replica, record.Route, record.Model ?? string.Empty);
            if (!cells.TryGetValue(key, out var sum))
            {
                cells[key] = sum = new Sum();
            }

            sum.Add(record);
        }
    }

    /// <summary>Adds <paramref name="cells"/> to their rows, in key order (two writers that share rows lock them in the
    /// same order, so they never deadlock), in one statement on the caller's transaction.</summary>
    public static async Task UpsertAsync(NpgsqlConnection connection, Dictionary<Key, Sum> cells, CancellationToken token)
    {
        if (cells.Count == 0)
        {
            return;
        }

        var keys = cells.Keys.Order().ToArray();
        var sums = keys.Select(k => cells[k]).ToArray();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO {Table} AS r (minutes, period, replica, route, model, requests, errors, duration_ms, input_tokens, output_tokens,
                cached_input_tokens, reasoning_tokens, cache_write_input_tokens, cost_usd, unpriced, errors_by_type, latency, slowest_id, slowest_ms)
            SELECT m, p, rep, rt, mdl, n, e, d, i, o, c, rs, cw, cost, u, errs::jsonb, lat::bigint[], sid, sms
            FROM unnest($1::smallint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::float8[],
                $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::numeric[], $15::bigint[], $16::text[], $17::text[],
                $18::text[], $19::float8[]) AS t(m, p, rep, rt, mdl, n, e, d, i, o, c, rs, cw, cost, u, errs, lat, sid, sms)
            ORDER BY m, p, rep COLLATE "C", rt COLLATE "C", mdl COLLATE "C"
            ON CONFLICT (minutes, period, replica, route, model) DO UPDATE SET
                requests = r.requests + EXCLUDED.requests, errors = r.errors + EXCLUDED.errors, duration_ms = r.duration_ms + EXCLUDED.duration_ms,
                input_tokens = r.input_tokens + EXCLUDED.input_tokens, output_tokens = r.output_tokens + EXCLUDED.output_tokens,
                cached_input_tokens = r.cached_input_tokens + EXCLUDED.cached_input_tokens, reasoning_tokens = r.reasoning_tokens + EXCLUDED.reasoning_tokens,
                cache_write_input_tokens = r.cache_write_input_tokens + EXCLUDED.cache_write_input_tokens, cost_usd = r.cost_usd + EXCLUDED.cost_usd,
                unpriced = r.unpriced + EXCLUDED.unpriced, errors_by_type = llm_apm_add_counts(r.errors_by_type, EXCLUDED.errors_by_type),
                latency = llm_apm_add_buckets(r.latency, EXCLUDED.latency),
                slowest_id = CASE WHEN EXCLUDED.slowest_ms > r.slowest_ms THEN EXCLUDED.slowest_id ELSE r.slowest_id END,
                slowest_ms = GREATEST(r.slowest_ms, EXCLUDED.slowest_ms)
            """;
        Add(command, keys.Select(k => k.Minutes).ToArray(), NpgsqlDbType.Smallint);
        Add(command, keys.Select(k => k.Period).ToArray(), NpgsqlDbType.TimestampTz);
        Add(command, keys.Select(k => k.Replica).ToArray(), NpgsqlDbType.Text);
        Add(command, keys.Select(k => k.Route).ToArray(), NpgsqlDbType.Text);
        Add(command, keys.Select(k => k.Model).ToArray(), NpgsqlDbType.Text);
        Add(command, sums.Select(s => s.Count).ToArray(), NpgsqlDbType.Bigint);
        Add(command, sums.Select(s => s.Errors).ToArray(), NpgsqlDbType.Bigint);
        Add(command, sums.Select(s => s.DurationSumMs).ToArray(), NpgsqlDbType.Double);
        Add(command, sums.Select(s => s.InputTokens).ToArray(), NpgsqlDbType.Bigint);
        Add(command, sums.Select(s => s.OutputTokens).ToArray(), NpgsqlDbType.Bigint);
        Add(command, sums.Select(s => s.CachedInputTokens).ToArray(), NpgsqlDbType.Bigint);
        Add(command, sums.Select(s => s.ReasoningTokens).ToArray(), NpgsqlDbType.Bigint);
        Add(command, sums.Select(s => s.CacheWriteInputTokens).ToArray(), NpgsqlDbType.Bigint);
        Add(command, sums.Select(s => s.Cost).ToArray(), NpgsqlDbType.Numeric);
        Add(command, sums.Select(s => s.Unpriced).ToArray(), NpgsqlDbType.Bigint);
        Add(command, sums.Select(s => s.ErrorsJson()).ToArray(), NpgsqlDbType.Text);
        Add(command, sums.Select(s => s.LatencyText()).ToArray(), NpgsqlDbType.Text);
        Add(command, sums.Select(s => s.SlowestId).ToArray(), NpgsqlDbType.Text);
        Add(command, sums.Select(s => s.SlowestMs).ToArray(), NpgsqlDbType.Double);
        await command.ExecuteNonQueryAsync(token).ConfigureAwait(false);
    }

    /// <summary>Whether the rollups answer <paramref name="query"/>: its start is a whole minute and its buckets whole
    /// minutes (or one bucket for the whole window). Others (the 5-second buckets of the short windows) read the rows.</summary>
    public static bool Answers(LlmHistoryAggregateQuery query)
        => query.To > query.From
            && query.From.UtcTicks % MinuteTicks == 0
            && (query.Bucket.Ticks % MinuteTicks == 0 || query.Bucket >= query.To - query.From);

    /// <summary>Reads the cells of <paramref name="query"/> (which <see cref="Answers"/>): half hours that lie inside the
    /// window and inside one of its buckets, minutes for the rest. A minute counts whole, also the one <c>To</c> is in.</summary>
    public static IReadOnlyList<LlmHistoryCell> Read(NpgsqlCommand command, LlmHistoryAggregateQuery query)
    {
        var from = query.From.UtcTicks;
        var to = query.To.UtcTicks;
        var bucketTicks = Math.Max(MinuteTicks, query.Bucket.Ticks);
        var coarse = new List<DateTime>();
        var fineStarts = new List<DateTime>();
        var fineEnds = new List<DateTime>();
        for (var period = from - (from % CoarseTicks); period < to; period += CoarseTicks)
        {
            var end = period + CoarseTicks;
            if (period >= from && end <= to && (period - from) / bucketTicks == (end - 1 - from) / bucketTicks)
            {
                coarse.Add(new DateTime(period, DateTimeKind.Utc));
                continue;
            }

            var start = new DateTime(Math.Max(period, from), DateTimeKind.Utc);
            if (fineEnds.Count > 0 && fineEnds[^1] == start)
            {
                fineEnds[^1] = new DateTime(Math.Min(end, to), DateTimeKind.Utc);
            }
            else
            {
                fineStarts.Add(start);
                fineEnds.Add(new DateTime(Math.Min(end, to), DateTimeKind.Utc));
            }
        }

        command.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = [.. coarse], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = [.. fineStarts], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = [.. fineEnds], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        var filters = new StringBuilder();
        foreach (var (column, value) in new[] { ("model", query.Model), ("route", query.Route), ("replica", query.Replica) })
        {
            if (value is not null)
            {
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = value });
                filters.Append(" AND r.").Append(column).Append(" = $").Append(command.Parameters.Count);
            }
        }

        command.CommandText = $"""
            SELECT r.period, {Figures} FROM {Table} r WHERE r.minutes = {CoarseMinutes} AND r.period = ANY($1){filters}
            UNION ALL
            SELECT r.period, {Figures} FROM {Table} r JOIN unnest($2::timestamptz[], $3::timestamptz[]) AS w(s, e) ON r.period >= w.s AND r.period < w.e
            WHERE r.minutes = 1{filters}
            """;
        var cells = new Dictionary<(long Bucket, string? Model), Sum>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var period = reader.GetFieldValue<DateTime>(0).Ticks;
                var model = reader.GetString(1);
                var key = ((period - from) / bucketTicks, model.Length == 0 ? null : model);
                if (!cells.TryGetValue(key, out var sum))
                {
                    cells[key] = sum = new Sum();
                }

                sum.Add(reader);
            }
        }

        return [.. cells.Select(c => c.Value.ToCell(query.From + TimeSpan.FromTicks(c.Key.Bucket * bucketTicks), c.Key.Model))];
    }

    /// <summary>Adds every existing row to the rollups, in pages of <paramref name="page"/> rows by (replica, seq), on the
    /// migration's connection and transaction: the rows written before version 6.</summary>
    /// <returns>The rows read.</returns>
    public static async Task<long> BackfillAsync(NpgsqlConnection connection, int page = 50_000, CancellationToken token = default)
    {
        long total = 0;
        var replica = string.Empty;
        var seq = long.MinValue;
        while (true)
        {
            var cells = new Dictionary<Key, Sum>();
            var read = 0;
            await using (var command = connection.CreateCommand())
            {
                command.CommandText = $"""
                    SELECT replica, seq, id, start_time, route, model, status, error_type, duration_ms, input_tokens, output_tokens,
                        cached_input_tokens, reasoning_tokens, cache_write_input_tokens, cost_usd, unpriced
                    FROM {PostgreSqlHistorySchema.Table} WHERE (replica, seq) > ($1, $2) ORDER BY replica, seq LIMIT {page}
                    """;
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = replica });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = seq });
                await using var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
                while (await reader.ReadAsync(token).ConfigureAwait(false))
                {
                    read++;
                    replica = reader.GetString(0);
                    seq = reader.GetInt64(1);
                    var record = new LlmRequestRecord
                    {
                        Id = reader.GetString(2),
                        TraceId = string.Empty,
                        StartTime = new DateTimeOffset(DateTime.SpecifyKind(reader.GetFieldValue<DateTime>(3), DateTimeKind.Utc)),
                        Route = reader.GetString(4),
                        Model = reader.IsDBNull(5) ? null : reader.GetString(5),
                        Status = reader.GetString(6),
                        ErrorType = reader.IsDBNull(7) ? null : reader.GetString(7),
                        DurationMs = reader.GetDouble(8),
                        Usage = new LlmUsage(reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11), reader.GetInt64(12)) { CacheWriteInputTokens = reader.GetInt64(13) },
                        CostUsd = reader.IsDBNull(14) ? null : reader.GetDecimal(14),
                        Unpriced = reader.GetBoolean(15),
                    };
                    Add(cells, record, replica);
                }
            }

            await UpsertAsync(connection, cells, token).ConfigureAwait(false);
            total += read;
            if (read < page)
            {
                return total;
            }
        }
    }

    private static void Add<T>(NpgsqlCommand command, T[] values, NpgsqlDbType type)
        => command.Parameters.Add(new NpgsqlParameter<T[]> { TypedValue = values, NpgsqlDbType = NpgsqlDbType.Array | type });

    /// <summary>A cell's figures as they are added up: from records when written, from rows when read.</summary>
    internal sealed class Sum
    {
        private readonly long[] latency = new long[LlmLatencyBuckets.Count];
        private Dictionary<string, long>? errorsByType;

        public long Count { get; private set; }

        public long Errors { get; private set; }

        public double DurationSumMs { get; private set; }

        public long InputTokens { get; private set; }

        public long OutputTokens { get; private set; }

        public long CachedInputTokens { get; private set; }

        public long ReasoningTokens { get; private set; }

        public long CacheWriteInputTokens { get; private set; }

        public decimal Cost { get; private set; }

        public long Unpriced { get; private set; }

        public string? SlowestId { get; private set; }

        public double SlowestMs { get; private set; }

        public void Add(LlmRequestRecord record)
        {
            this.Count++;
            if (!string.Equals(record.Status, "ok", StringComparison.Ordinal))
            {
                this.Errors++;
            }

            this.DurationSumMs += record.DurationMs;
            this.InputTokens += record.Usage.InputTokens;
            this.OutputTokens += record.Usage.OutputTokens;
            this.CachedInputTokens += record.Usage.CachedInputTokens;
            this.ReasoningTokens += record.Usage.ReasoningTokens;
            this.CacheWriteInputTokens += record.Usage.CacheWriteInputTokens;
            this.Cost += record.CostUsd ?? 0;
            this.Unpriced += record.Unpriced ? 1 : 0;
            this.latency[LlmLatencyBuckets.IndexOf(record.DurationMs)]++;
            if (record.ErrorType is { } type)
            {
                this.errorsByType ??= new(StringComparer.Ordinal);
                this.errorsByType[type] = this.errorsByType.GetValueOrDefault(type) + 1;
            }

            this.Slowest(record.Id, record.DurationMs);
        }

        /// <summary>Adds a row selected with <see cref="Figures"/> after the period.</summary>
        public void Add(NpgsqlDataReader reader)
        {
            this.Count += reader.GetInt64(2);
            this.Errors += reader.GetInt64(3);
            this.DurationSumMs += reader.GetDouble(4);
            this.InputTokens += reader.GetInt64(5);
            this.OutputTokens += reader.GetInt64(6);
            this.CachedInputTokens += reader.GetInt64(7);
            this.ReasoningTokens += reader.GetInt64(8);
            this.CacheWriteInputTokens += reader.GetInt64(9);
            this.Cost += reader.GetDecimal(10);
            this.Unpriced += reader.GetInt64(11);
            if (!reader.IsDBNull(12))
            {
                using var errors = JsonDocument.Parse(reader.GetString(12));
                foreach (var error in errors.RootElement.EnumerateObject())
                {
                    this.errorsByType ??= new(StringComparer.Ordinal);
                    this.errorsByType[error.Name] = this.errorsByType.GetValueOrDefault(error.Name) + error.Value.GetInt64();
                }
            }

            var buckets = reader.GetFieldValue<long[]>(13);
            for (var i = 0; i < buckets.Length && i < this.latency.Length; i++)
            {
                this.latency[i] += buckets[i];
            }

            this.Slowest(reader.IsDBNull(14) ? null : reader.GetString(14), reader.GetDouble(15));
        }

        /// <summary>The errors by type as a JSON object, or <c>null</c> when none.</summary>
        public string? ErrorsJson()
        {
            if (this.errorsByType is null)
            {
                return null;
            }

            var buffer = new ArrayBufferWriter<byte>();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                foreach (var (type, n) in this.errorsByType)
                {
                    json.WriteNumber(type, n);
                }

                json.WriteEndObject();
            }

            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }

        /// <summary>The latency buckets as an array literal, up to the last that is not empty (the rest are zeros).</summary>
        public string LatencyText()
        {
            var last = Array.FindLastIndex(this.latency, n => n != 0);
            var text = new StringBuilder("{");
            for (var i = 0; i <= last; i++)
            {
                text.Append(i == 0 ? string.Empty : ",").Append(this.latency[i].ToString(CultureInfo.InvariantCulture));
            }

            return text.Append('}').ToString();
        }

        public LlmHistoryCell ToCell(DateTimeOffset start, string? model) => new()
        {
            Start = start,
            Model = model,
            Count = this.Count,
            ErrorCount = this.Errors,
            DurationSumMs = this.DurationSumMs,
            Tokens = new LlmUsage(this.InputTokens, this.OutputTokens, this.CachedInputTokens, this.ReasoningTokens) { CacheWriteInputTokens = this.CacheWriteInputTokens },
            CostUsd = this.Cost,
            UnpricedCount = this.Unpriced,
            ErrorsByType = this.errorsByType ?? new Dictionary<string, long>(),
            LatencyCounts = this.latency,
            SlowestRequestId = this.SlowestId,
            SlowestDurationMs = this.SlowestMs,
        };

        // The first of equals, as the row scan's ORDER BY duration DESC keeps one of them.
        private void Slowest(string? id, double durationMs)
        {
            if (id is not null && (this.SlowestId is null || durationMs > this.SlowestMs))
            {
                this.SlowestId = id;
                this.SlowestMs = durationMs;
            }
        }
    }
}
