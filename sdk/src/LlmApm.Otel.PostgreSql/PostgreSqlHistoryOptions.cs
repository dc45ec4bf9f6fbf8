namespace LlmApm.Otel.PostgreSql;

/// <summary>Options of the PostgreSQL history store. Bound from <c>LlmApm:PostgreSql</c> by
/// <c>builder.AddLlmApmPostgreSqlHistory()</c>; the connection string defaults to <c>ConnectionStrings:LlmApmHistory</c>.</summary>
public sealed class PostgreSqlHistoryOptions
{
    /// <summary>Gets or sets the Npgsql connection string. Default: <c>ConnectionStrings:LlmApmHistory</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets the replica kept with a record that does not name its own (LLM-APM's records carry the
    /// OpenTelemetry resource's <c>service.instance.id</c>). Default: the <c>service.instance.id</c> of
    /// <c>OTEL_RESOURCE_ATTRIBUTES</c>, else <c>host-pid</c>.</summary>
    public string? InstanceId { get; set; }

    /// <summary>Gets or sets a value indicating whether a database that cannot be reached or migrated at start-up
    /// stops the host's start. Default: <c>false</c>: the service starts at once, buffers records and keeps trying.</summary>
    public bool Required { get; set; }

    /// <summary>Gets or sets the longest time a finished request waits in memory before it is written. Default: 1 second.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the most records written in one COPY. Default: 2000.</summary>
    public int BatchSize { get; set; } = 2000;

    /// <summary>Gets or sets how many records may wait to be written, also while the database is down; beyond it a
    /// record is dropped and counted in <c>llm_history_dropped_total{reason="queue_full"}</c>. Default: 100000.</summary>
    public int QueueCapacity { get; set; } = 100_000;

    /// <summary>Gets or sets how long to wait between attempts to reach a database that is down. Default: 2 seconds.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets or sets how often other replicas' new records are read for the live stream. Default: 1 second.</summary>
    public TimeSpan LivePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the most records the database keeps, over all replicas. Default: 10000000.</summary>
    public long RetentionCount { get; set; } = 10_000_000;

    /// <summary>Gets or sets how long the database keeps a record. Default: 30 days.</summary>
    public TimeSpan RetentionAge { get; set; } = TimeSpan.FromDays(30);
}
