using Npgsql;
using NpgsqlTypes;

namespace LlmApm.Otel.PostgreSql.Implementation;

/// <summary>
/// The budget spend shared by every replica that uses one PostgreSQL database: a row per budget, key and window in
/// <c>llm_budget_spend</c>, and a row per budget and window seeded from the history in <c>llm_budget_seed</c>: tables of
/// its own that it creates itself. Each replica adds its spend with an atomic
/// upsert that returns the new total, and reads every replica's totals each <see cref="RefreshInterval"/>.
/// </summary>
internal sealed class PostgreSqlBudgetLedger : LlmBudgetSharedStore, IAsyncDisposable, IDisposable
{
    /// <summary>How long past windows are kept: the longest window (a month) and a margin to look back on.</summary>
    private static readonly TimeSpan Retention = TimeSpan.FromDays(70);

    private const string CreateSql = """
        CREATE TABLE IF NOT EXISTS llm_budget_spend (
            budget text NOT NULL,
            key text NOT NULL,
            window_start timestamptz NOT NULL,
            spent_usd numeric NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (budget, key, window_start))
        """;

    private const string AddSql = """
        INSERT INTO llm_budget_spend AS s (budget, key, window_start, spent_usd) VALUES ($1, $2, $3, $4)
        ON CONFLICT (budget, key, window_start) DO UPDATE SET spent_usd = s.spent_usd + EXCLUDED.spent_usd, updated_at = now()
        RETURNING spent_usd
        """;

    private const string CreateSeedSql = """
        CREATE TABLE IF NOT EXISTS llm_budget_seed (
            budget text NOT NULL,
            window_start timestamptz NOT NULL,
            seeded_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (budget, window_start))
        """;

    private const string ClaimSql = """
        INSERT INTO llm_budget_seed (budget, window_start) VALUES ($1, $2) ON CONFLICT (budget, window_start) DO NOTHING
        """;

    private const string ReadSql = """
        SELECT s.budget, s.key, s.window_start, s.spent_usd FROM llm_budget_spend s
        JOIN unnest($1::text[], $2::timestamptz[]) AS w(budget, window_start) ON s.budget = w.budget AND s.window_start = w.window_start
        """;

    private readonly NpgsqlDataSource dataSource;
    private readonly SemaphoreSlim schemaGate = new(1, 1);
    private volatile bool created;

    public PostgreSqlBudgetLedger(string connectionString, TimeSpan refreshInterval)
    {
        this.dataSource = PostgreSqlConnection.Create(connectionString);
        this.RefreshInterval = refreshInterval;
    }

    /// <summary>The default refresh interval: a replica misses, at most, what the others spend in about a second.</summary>
    public static TimeSpan DefaultRefreshInterval => TimeSpan.FromSeconds(1);

    public override TimeSpan RefreshInterval { get; }

    public override async Task<decimal> AddAsync(string budget, string key, DateTimeOffset window, decimal amount, CancellationToken cancellationToken)
    {
        await this.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await using var command = this.dataSource.CreateCommand(AddSql);
        AddKey(command, budget, key, window, amount);
        return (decimal)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public override async Task SeedAsync(string budget, DateTimeOffset window, IReadOnlyList<(string Key, decimal SpentUsd)> spent, CancellationToken cancellationToken)
    {
        await this.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await this.dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var claim = new NpgsqlCommand(ClaimSql, connection, transaction))
        {
            claim.Parameters.Add(new NpgsqlParameter { Value = budget, NpgsqlDbType = NpgsqlDbType.Text });
            claim.Parameters.Add(new NpgsqlParameter { Value = window.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            if (await claim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                // Another replica seeded this window: its seed and every replica's adds since are in the table.
                return;
            }
        }

        foreach (var (key, amount) in spent)
        {
            await using var add = new NpgsqlCommand(AddSql, connection, transaction);
            AddKey(add, budget, key, window, amount);
            await add.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task<IReadOnlyList<(string Budget, string Key, DateTimeOffset Window, decimal SpentUsd)>> ReadAsync(
        IReadOnlyList<(string Budget, DateTimeOffset Window)> windows, CancellationToken cancellationToken)
    {
        await this.EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        await using var command = this.dataSource.CreateCommand(ReadSql);
        command.Parameters.Add(new NpgsqlParameter { Value = windows.Select(w => w.Budget).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = windows.Select(w => w.Window.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        var rows = new List<(string, string, DateTimeOffset, decimal)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add((reader.GetString(0), reader.GetString(1), new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero), reader.GetDecimal(3)));
        }

        return rows;
    }

    public void Dispose()
    {
        this.dataSource.Dispose();
        this.schemaGate.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await this.dataSource.DisposeAsync().ConfigureAwait(false);
        this.schemaGate.Dispose();
    }

    private static void AddKey(NpgsqlCommand command, string budget, string key, DateTimeOffset window, decimal amount)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = budget, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = key, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = window.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = amount, NpgsqlDbType = NpgsqlDbType.Numeric });
    }

    /// <summary>Creates the table once per process, and drops the windows past retention.</summary>
    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (this.created)
        {
            return;
        }

        await this.schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (this.created)
            {
                return;
            }

            foreach (var sql in new[] { CreateSql, CreateSeedSql })
            {
                try
                {
                    await using var create = this.dataSource.CreateCommand(sql);
                    await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
                {
                    // Another replica created it at the same moment.
                }
            }

            foreach (var table in new[] { "llm_budget_spend", "llm_budget_seed" })
            {
                await using var prune = this.dataSource.CreateCommand($"DELETE FROM {table} WHERE window_start < $1");
                prune.Parameters.Add(new NpgsqlParameter { Value = DateTime.UtcNow - Retention, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                await prune.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            this.created = true;
        }
        finally
        {
            this.schemaGate.Release();
        }
    }
}
