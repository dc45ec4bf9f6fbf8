namespace LlmApm.Otel.Sqlite;

/// <summary>Options of the SQLite history store. Bound from <c>LlmApm:Sqlite</c> by
/// <c>builder.AddLlmApmSqliteHistory()</c>.</summary>
public sealed class SqliteHistoryOptions
{
    /// <summary>Gets or sets the database file. A relative path is relative to the current directory.
    /// Default: <c>data/llm-apm-history.db</c>.</summary>
    public string Path { get; set; } = System.IO.Path.Combine("data", "llm-apm-history.db");

    /// <summary>Gets or sets a value indicating whether a database that cannot be opened (damaged, not writable,
    /// locked, newer schema) stops the host's start. Default: <c>false</c>: the service starts with the history in
    /// memory only, logs one error and reports itself degraded.</summary>
    public bool Required { get; set; }

    /// <summary>Gets or sets how long opening the database waits for another process's lock on it. Default: 5 seconds.</summary>
    public TimeSpan OpenTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the longest time a finished request waits in memory before it is written. Default: 1 second.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the most records written in one transaction. Default: 500.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Gets or sets how many records may wait to be written; beyond it a record is dropped and counted in
    /// <c>llm_history_dropped_total{reason="queue_full"}</c>, and the request is never delayed. Default: 50000.</summary>
    // Five seconds of 10,000 records/s: the writer keeps up on average but stalls for WAL checkpoints, and a queue of
    // 10,000 dropped 0.7% at that rate (docs/benchmarks.md).
    public int QueueCapacity { get; set; } = 50_000;

    /// <summary>Gets or sets the most records the database keeps; older ones are deleted. Default: 1000000.</summary>
    public long RetentionCount { get; set; } = 1_000_000;

    /// <summary>Gets or sets how long the database keeps a record. Default: 30 days.</summary>
    public TimeSpan RetentionAge { get; set; } = TimeSpan.FromDays(30);
}
