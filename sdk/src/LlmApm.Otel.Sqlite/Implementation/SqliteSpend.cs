using System.Globalization;
using System.Text;
using LlmApm.Otel.History;
using Microsoft.Data.Sqlite;

namespace LlmApm.Otel.Sqlite.Implementation;

/// <summary>The spend query in SQL: one <c>GROUP BY</c> of the window's rows by the dimension's column. SQLite has no
/// decimal type (costs are text, exact), so a function of the store's adds them up as <see cref="decimal"/> where
/// <c>SUM</c> would round them as doubles; the groups come back unsorted and are ordered in the process, exactly as
/// <see cref="ILlmHistoryStore.Spend"/>'s default orders them.</summary>
internal static class SqliteSpend
{
    private const string DecimalSum = "llm_apm_decimal_sum";

    /// <summary>Every group of the rows numbered below <paramref name="below"/> that pass <paramref name="query"/>.</summary>
    public static List<LlmSpendRow> Read(SqliteConnection connection, LlmSpendQuery query, long below)
    {
        using var command = Create(connection, query, below);
        var rows = new List<LlmSpendRow>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(new LlmSpendRow(
                reader.IsDBNull(0) ? null : reader.GetString(0),
                reader.GetInt64(1),
                decimal.Parse(reader.GetString(2), NumberStyles.Number, CultureInfo.InvariantCulture),
                reader.GetInt64(3),
                reader.GetInt64(4),
                reader.GetInt64(5)));
        }

        return rows;
    }

    /// <summary>The query's command, its function registered on <paramref name="connection"/>.</summary>
    public static SqliteCommand Create(SqliteConnection connection, LlmSpendQuery query, long below)
    {
        connection.CreateAggregate<string?, decimal, string>(
            DecimalSum,
            0m,
            static (sum, cost) => cost is null ? sum : sum + decimal.Parse(cost, NumberStyles.Number, CultureInfo.InvariantCulture),
            static sum => sum.ToString(CultureInfo.InvariantCulture),
            isDeterministic: true);
        var command = connection.CreateCommand();
        var key = query.By switch
        {
            LlmSpendDimension.Tenant => "tenant_id",
            LlmSpendDimension.User => "user_id",
            LlmSpendDimension.Route => "route",
            _ => "model",
        };
        // Through the start-time index, always: without it SQLite may scan a whole index in the GROUP BY's order, reading
        // every row of the table for a window of an hour.
        var sql = new StringBuilder($"""
            SELECT {key}, count(*), {DecimalSum}(cost_usd), sum(input_tokens), sum(output_tokens), sum(unpriced)
            FROM requests INDEXED BY ix_requests_start WHERE seq < $below AND start_utc_ticks >= $from
            """);
        command.Parameters.AddWithValue("$below", below);
        command.Parameters.AddWithValue("$from", query.From.UtcTicks);
        if (query.To is { } to)
        {
            sql.Append(" AND start_utc_ticks < $to");
            command.Parameters.AddWithValue("$to", to.UtcTicks);
        }

        SqliteHistorySchema.AppendEquals(sql, command, [("tenant_id", query.TenantId), ("user_id", query.UserId), ("route", query.Route), ("model", query.Model), ("replica", query.Replica)]);

        sql.Append(" GROUP BY ").Append(key);
        command.CommandText = sql.ToString();
        return command;
    }

    /// <summary>The groups of the records (the newest, still in memory) that pass <paramref name="query"/>.</summary>
    public static IEnumerable<LlmSpendRow> Group(IEnumerable<LlmRequestRecord> records, LlmSpendQuery query)
        => records.Where(query.Matches).Select(r => new LlmSpendRow(query.KeyOf(r), 1, r.CostUsd ?? 0, r.Usage.InputTokens, r.Usage.OutputTokens, r.Unpriced ? 1 : 0));

    /// <summary>Adds the rows of the same key together (the database's and the memory's) and keeps the
    /// <paramref name="limit"/> biggest: by cost, then requests, then key (ordinal, no key first).</summary>
    public static IReadOnlyList<LlmSpendRow> Merge(IEnumerable<LlmSpendRow> first, IEnumerable<LlmSpendRow> second, int limit)
    {
        var byKey = new Dictionary<string, LlmSpendRow>(StringComparer.Ordinal);
        LlmSpendRow? none = null;
        foreach (var row in first.Concat(second))
        {
            var existing = row.Key is null ? none : byKey.GetValueOrDefault(row.Key);
            var sum = existing is null ? row : existing with
            {
                Requests = existing.Requests + row.Requests,
                CostUsd = existing.CostUsd + row.CostUsd,
                InputTokens = existing.InputTokens + row.InputTokens,
                OutputTokens = existing.OutputTokens + row.OutputTokens,
                UnpricedRequests = existing.UnpricedRequests + row.UnpricedRequests,
            };
            if (row.Key is null)
            {
                none = sum;
            }
            else
            {
                byKey[row.Key] = sum;
            }
        }

        IEnumerable<LlmSpendRow> all = none is null ? byKey.Values : byKey.Values.Append(none);
        return [.. all.OrderByDescending(r => r.CostUsd).ThenByDescending(r => r.Requests).ThenBy(r => r.Key, StringComparer.Ordinal).Take(limit)];
    }
}
