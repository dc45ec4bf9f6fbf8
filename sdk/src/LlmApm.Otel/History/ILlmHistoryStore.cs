namespace LlmApm.Otel.History;

/// <summary>Where finished requests are kept. Implementations are thread-safe, never block the caller of
/// <see cref="Add"/> for long, and never throw from it. A read the store cannot answer throws
/// <see cref="LlmHistoryUnavailableException"/>.</summary>
public interface ILlmHistoryStore
{
    /// <summary>Adds a finished request under the next sequence number. The record is immutable: a store that keeps
    /// the object keeps <see cref="LlmRequestRecord.WithSeq"/>'s numbered copy, and its reads return records numbered.</summary>
    /// <param name="record">The record.</param>
    /// <returns>The sequence number the store assigned, the record's <see cref="LlmRequestRecord.Seq"/> when read.</returns>
    long Add(LlmRequestRecord record);

    /// <summary>Gets one request by id.</summary>
    /// <param name="id">The request id.</param>
    /// <returns>The record, or <c>null</c>.</returns>
    LlmRequestRecord? Find(string id);

    /// <summary>Gets a page of requests, newest first.</summary>
    /// <param name="query">The filters and page.</param>
    /// <returns>The records.</returns>
    IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query);

    /// <summary>Gets every kept request that started at or after <paramref name="from"/>, oldest first.</summary>
    /// <param name="from">The start of the window.</param>
    /// <returns>The records.</returns>
    IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from);

    /// <summary>Adds up the requests that started in a window, by model and bucket of time: what the history API's
    /// summary, model rows and time series are made of. A store answers it where its data lives (rollups, SQL
    /// aggregates), at a cost that does not grow with the records in the window; the default reads them all through
    /// <see cref="Since"/>. Counts, tokens and cost are exact; latency is a histogram of <see cref="LlmLatencyBuckets"/>.
    /// See docs/architecture.md.</summary>
    /// <param name="query">The window, the bucket width and the filters.</param>
    /// <returns>The cells that have requests, in any order.</returns>
    IReadOnlyList<LlmHistoryCell> Aggregate(LlmHistoryAggregateQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return LlmHistoryAnalytics.Aggregate(this.Since(query.From), query);
    }

    /// <summary>Adds up the cost of the requests that started in a window by tenant, user, route or model, the biggest
    /// first: the spend view, and budgets' spend at start-up. Users are not in the rollups (they are unbounded), so a
    /// store answers this where its records live (SQL <c>GROUP BY</c>); the default reads them all through
    /// <see cref="Since"/>.</summary>
    /// <param name="query">The window, the dimension and the filters.</param>
    /// <returns>At most <see cref="LlmSpendQuery.Limit"/> rows, by cost descending.</returns>
    IReadOnlyList<LlmSpendRow> Spend(LlmSpendQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return LlmSpendQuery.Compute(this.Since(query.From), query);
    }

    /// <summary>Lists the replicas that served requests started in [<paramref name="from"/>, <paramref name="before"/>), with
    /// their count and the start of their last one: what the dashboard's replica filter offers. A store answers it from
    /// its rollups or an index; the default reads the window's records through <see cref="Since"/>. Records without a
    /// replica are not listed.</summary>
    /// <param name="from">The start of the window (inclusive).</param>
    /// <param name="before">The end of the window (exclusive).</param>
    /// <returns>At most <see cref="LlmReplicaRow.MaxRows"/> rows, the most recently seen first.</returns>
    IReadOnlyList<LlmReplicaRow> Replicas(DateTimeOffset from, DateTimeOffset before)
        => LlmReplicaRow.Compute(this.Since(from), from, before);

    /// <summary>Gets whether the store keeps what it is given. A store that loses or cannot read records (a damaged or
    /// full database) says so here, for the health check, <c>api/info</c> and the dashboard's banner, while the
    /// service keeps running. Default: <see cref="LlmHistoryHealth.Healthy"/>.</summary>
    LlmHistoryHealth Health => LlmHistoryHealth.Healthy;

    /// <summary>Adds a score to a kept request, returned in its <see cref="LlmRequestRecord.Scores"/> from then on.
    /// Call <see cref="LlmApmInstrumentation.AddScore"/> rather than this: it also records the metric and the span
    /// event. Default: not supported (a store written before scores existed).</summary>
    /// <param name="requestId">The request's id.</param>
    /// <param name="score">The score.</param>
    /// <returns><c>false</c> when no kept request has this id.</returns>
    /// <exception cref="NotSupportedException">The store does not keep scores.</exception>
    /// <exception cref="LlmHistoryUnavailableException">The store cannot be read or written.</exception>
    bool AddScore(string requestId, LlmScore score) => throw new NotSupportedException("This history store does not keep scores.");
}

/// <summary>A page of the history: filters and a cursor.</summary>
public sealed class LlmHistoryQuery
{
    /// <summary>The largest page size.</summary>
    public const int MaxLimit = 500;

    /// <summary>Gets or sets the page size, 1 to <see cref="MaxLimit"/>. Default: 50.</summary>
    public int Limit { get; set; } = 50;

    /// <summary>Gets or sets the cursor: only records with a lower <see cref="LlmRequestRecord.Seq"/>.</summary>
    public long? Before { get; set; }

    /// <summary>Gets or sets the status filter: <c>ok</c> or <c>error</c>.</summary>
    public string? Status { get; set; }

    /// <summary>Gets or sets the exact model filter.</summary>
    public string? Model { get; set; }

    /// <summary>Gets or sets the exact route filter.</summary>
    public string? Route { get; set; }

    /// <summary>Gets or sets the exact replica filter (<see cref="LlmRequestRecord.Replica"/>).</summary>
    public string? Replica { get; set; }

    /// <summary>Gets or sets the exact user filter (<see cref="LlmRequestRecord.UserId"/>).</summary>
    public string? UserId { get; set; }

    /// <summary>Gets or sets the exact tenant filter (<see cref="LlmRequestRecord.TenantId"/>).</summary>
    public string? TenantId { get; set; }

    /// <summary>Gets or sets the key of the property filter: only records whose property has
    /// <see cref="PropertyValue"/>, or that have the property at all when that is <c>null</c>.</summary>
    public string? PropertyKey { get; set; }

    /// <summary>Gets or sets the value of the property filter (see <see cref="PropertyKey"/>).</summary>
    public string? PropertyValue { get; set; }

    /// <summary>Gets or sets a prefix of the request id or of the trace id.</summary>
    public string? Q { get; set; }

    /// <summary>Gets or sets a value indicating whether only requests with a negative score (a thumbs down, a failed
    /// evaluation) pass. Default: <c>false</c>.</summary>
    public bool NegativeOnly { get; set; }

    /// <summary>Whether <paramref name="record"/> passes the filters (not the cursor or the limit).</summary>
    /// <param name="record">The record.</param>
    /// <returns><c>true</c> when it matches.</returns>
    public bool Matches(LlmRequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return (this.Status is null || string.Equals(record.Status, this.Status, StringComparison.Ordinal))
            && (this.Model is null || string.Equals(record.Model, this.Model, StringComparison.Ordinal))
            && (this.Route is null || string.Equals(record.Route, this.Route, StringComparison.Ordinal))
            && (this.Replica is null || string.Equals(record.Replica, this.Replica, StringComparison.Ordinal))
            && (this.UserId is null || string.Equals(record.UserId, this.UserId, StringComparison.Ordinal))
            && (this.TenantId is null || string.Equals(record.TenantId, this.TenantId, StringComparison.Ordinal))
            && (this.PropertyKey is null || (record.Properties.TryGetValue(this.PropertyKey, out var value)
                && (this.PropertyValue is null || string.Equals(value, this.PropertyValue, StringComparison.Ordinal))))
            && (!this.NegativeOnly || record.HasNegativeScore)
            && (string.IsNullOrEmpty(this.Q)
                || record.Id.StartsWith(this.Q, StringComparison.OrdinalIgnoreCase)
                || record.TraceId.StartsWith(this.Q, StringComparison.OrdinalIgnoreCase));
    }
}
