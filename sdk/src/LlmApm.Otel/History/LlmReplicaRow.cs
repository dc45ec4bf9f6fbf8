namespace LlmApm.Otel.History;

/// <summary>A replica that served requests in a window (<see cref="ILlmHistoryStore.Replicas"/>): what the dashboard's
/// replica filter offers.</summary>
/// <param name="Replica">The replica (<see cref="LlmRequestRecord.Replica"/>).</param>
/// <param name="Requests">The requests it served that started in the window.</param>
/// <param name="LastRequestAt">When the last of them started.</param>
public sealed record LlmReplicaRow(string Replica, long Requests, DateTimeOffset LastRequestAt)
{
    /// <summary>The most rows one answer has: a dashboard's select, not an inventory of every process ever run.</summary>
    public const int MaxRows = 100;

    /// <summary>The answer from records read one by one: the default of <see cref="ILlmHistoryStore.Replicas"/>, and
    /// what a store's own answer must agree with. Records without a replica (written before replicas were kept) are
    /// left out: no filter selects them.</summary>
    internal static IReadOnlyList<LlmReplicaRow> Compute(IEnumerable<LlmRequestRecord> records, DateTimeOffset from, DateTimeOffset to)
    {
        var rows = new Dictionary<string, (long Requests, DateTimeOffset Last)>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record.Replica is not { } replica || record.StartTime < from || record.StartTime >= to)
            {
                continue;
            }

            var (requests, last) = rows.GetValueOrDefault(replica, (0, DateTimeOffset.MinValue));
            rows[replica] = (requests + 1, record.StartTime > last ? record.StartTime : last);
        }

        return Order(rows.Select(r => new LlmReplicaRow(r.Key, r.Value.Requests, r.Value.Last)));
    }

    /// <summary>The most recently seen first (then by name, ordinal), at most <see cref="MaxRows"/>: the order every
    /// store answers in, so that the bound keeps the replicas that are serving now.</summary>
    internal static IReadOnlyList<LlmReplicaRow> Order(IEnumerable<LlmReplicaRow> rows)
        => [.. rows.OrderByDescending(r => r.LastRequestAt).ThenBy(r => r.Replica, StringComparer.Ordinal).Take(MaxRows)];
}
