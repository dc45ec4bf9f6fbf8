namespace LlmApm.Otel.History;

/// <summary>What <see cref="ILlmHistoryStore.Spend"/> adds up by.</summary>
public enum LlmSpendDimension
{
    /// <summary>By <see cref="LlmRequestRecord.TenantId"/>.</summary>
    Tenant,

    /// <summary>By <see cref="LlmRequestRecord.UserId"/>.</summary>
    User,

    /// <summary>By <see cref="LlmRequestRecord.Route"/>.</summary>
    Route,

    /// <summary>By <see cref="LlmRequestRecord.Model"/>.</summary>
    Model,
}

/// <summary>A spend question: the cost of the requests that started in [<see cref="From"/>, <see cref="To"/>), by one
/// dimension, with the history's filters.</summary>
public sealed class LlmSpendQuery
{
    /// <summary>The most rows one answer has.</summary>
    public const int MaxLimit = 500;

    /// <summary>Gets or sets the start of the window (inclusive).</summary>
    public DateTimeOffset From { get; set; }

    /// <summary>Gets or sets the end of the window (exclusive), or <c>null</c> for now.</summary>
    public DateTimeOffset? To { get; set; }

    /// <summary>Gets or sets what the rows are by. Default: <see cref="LlmSpendDimension.Tenant"/>.</summary>
    public LlmSpendDimension By { get; set; }

    /// <summary>Gets or sets the most rows, 1 to <see cref="MaxLimit"/>. Default: 20.</summary>
    public int Limit { get; set; } = 20;

    /// <summary>Gets or sets the exact tenant filter.</summary>
    public string? TenantId { get; set; }

    /// <summary>Gets or sets the exact user filter.</summary>
    public string? UserId { get; set; }

    /// <summary>Gets or sets the exact route filter.</summary>
    public string? Route { get; set; }

    /// <summary>Gets or sets the exact model filter.</summary>
    public string? Model { get; set; }

    /// <summary>Gets or sets the exact replica filter.</summary>
    public string? Replica { get; set; }

    /// <summary>Whether <paramref name="record"/> is in the window and passes the filters.</summary>
    /// <param name="record">The record.</param>
    /// <returns><c>true</c> when it counts.</returns>
    public bool Matches(LlmRequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.StartTime >= this.From
            && (this.To is not { } to || record.StartTime < to)
            && (this.TenantId is null || string.Equals(record.TenantId, this.TenantId, StringComparison.Ordinal))
            && (this.UserId is null || string.Equals(record.UserId, this.UserId, StringComparison.Ordinal))
            && (this.Route is null || string.Equals(record.Route, this.Route, StringComparison.Ordinal))
            && (this.Model is null || string.Equals(record.Model, this.Model, StringComparison.Ordinal))
            && (this.Replica is null || string.Equals(record.Replica, this.Replica, StringComparison.Ordinal));
    }

    /// <summary>The key of <paramref name="record"/> in this query's dimension.</summary>
    /// <param name="record">The record.</param>
    /// <returns>The key, or <c>null</c> when the record has none (no tenant, no user, no model).</returns>
    public string? KeyOf(LlmRequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return this.By switch
        {
            LlmSpendDimension.Tenant => record.TenantId,
            LlmSpendDimension.User => record.UserId,
            LlmSpendDimension.Route => record.Route,
            _ => record.Model,
        };
    }

    /// <summary>The answer from records read one by one: the default of <see cref="ILlmHistoryStore.Spend"/>, and what a
    /// store's SQL must agree with.</summary>
    internal static IReadOnlyList<LlmSpendRow> Compute(IEnumerable<LlmRequestRecord> records, LlmSpendQuery query)
    {
        var rows = new Dictionary<string, LlmSpendRow>(StringComparer.Ordinal);
        LlmSpendRow? none = null;
        foreach (var record in records)
        {
            if (!query.Matches(record))
            {
                continue;
            }

            var key = query.KeyOf(record);
            var row = key is null ? none ?? new LlmSpendRow(null, 0, 0, 0, 0, 0) : rows.GetValueOrDefault(key) ?? new LlmSpendRow(key, 0, 0, 0, 0, 0);
            row = row with
            {
                Requests = row.Requests + 1,
                CostUsd = row.CostUsd + (record.CostUsd ?? 0),
                InputTokens = row.InputTokens + record.Usage.InputTokens,
                OutputTokens = row.OutputTokens + record.Usage.OutputTokens,
                UnpricedRequests = row.UnpricedRequests + (record.Unpriced ? 1 : 0),
            };
            if (key is null)
            {
                none = row;
            }
            else
            {
                rows[key] = row;
            }
        }

        IEnumerable<LlmSpendRow> all = none is null ? rows.Values : rows.Values.Append(none);
        return [.. all.OrderByDescending(r => r.CostUsd).ThenByDescending(r => r.Requests).ThenBy(r => r.Key, StringComparer.Ordinal).Take(query.Limit)];
    }
}

/// <summary>One row of a spend answer.</summary>
/// <param name="Key">The tenant, user, route or model; <c>null</c> for the requests that have none.</param>
/// <param name="Requests">The requests.</param>
/// <param name="CostUsd">Their cost in US dollars (unpriced requests count 0).</param>
/// <param name="InputTokens">Their input tokens.</param>
/// <param name="OutputTokens">Their output tokens.</param>
/// <param name="UnpricedRequests">How many of them used a model without a price.</param>
public sealed record LlmSpendRow(string? Key, long Requests, decimal CostUsd, long InputTokens, long OutputTokens, long UnpricedRequests);
