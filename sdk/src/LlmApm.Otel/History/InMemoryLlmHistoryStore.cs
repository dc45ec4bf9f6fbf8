using Microsoft.Extensions.Options;

namespace LlmApm.Otel.History;

/// <summary>The default history store: a bounded, lock-free ring of the newest finished requests.</summary>
public sealed class InMemoryLlmHistoryStore : ILlmHistoryStore
{
    private readonly LlmRequestRecord?[] ring;
    private long lastSeq;

    /// <summary>Initializes a new instance of the <see cref="InMemoryLlmHistoryStore"/> class.</summary>
    /// <param name="capacity">The number of records kept.</param>
    public InMemoryLlmHistoryStore(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        this.ring = new LlmRequestRecord?[capacity];
    }

    /// <summary>Initializes a new instance of the <see cref="InMemoryLlmHistoryStore"/> class.</summary>
    /// <param name="options">The options; <see cref="LlmApmOptions.HistoryCapacity"/> sets the capacity.</param>
    public InMemoryLlmHistoryStore(IOptions<LlmApmOptions> options)
        : this(Math.Max(1, options?.Value.HistoryCapacity ?? 1))
    {
    }

    /// <summary>Gets the number of records the ring keeps.</summary>
    public int Capacity => this.ring.Length;

    /// <summary>Gets the number of records added since the start.</summary>
    public long TotalAdded => Volatile.Read(ref this.lastSeq);

    /// <inheritdoc/>
    public void Add(LlmRequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var seq = Interlocked.Increment(ref this.lastSeq);
        record.Seq = seq;
        Volatile.Write(ref this.ring[(int)((seq - 1) % this.ring.Length)], record);
    }

    /// <summary>Loads records kept elsewhere (a durable store after a restart) and continues their sequence.</summary>
    /// <param name="records">The records, with their sequence numbers, in any order.</param>
    internal void Restore(IEnumerable<LlmRequestRecord> records)
    {
        foreach (var record in records.OrderBy(r => r.Seq))
        {
            if (record.Seq <= 0)
            {
                continue;
            }

            Volatile.Write(ref this.ring[(int)((record.Seq - 1) % this.ring.Length)], record);
            if (record.Seq > Volatile.Read(ref this.lastSeq))
            {
                Volatile.Write(ref this.lastSeq, record.Seq);
            }
        }
    }

    /// <summary>Gets the oldest record the ring still holds, or <c>null</c> when it is empty.</summary>
    internal LlmRequestRecord? Oldest()
    {
        LlmRequestRecord? oldest = null;
        foreach (var record in this.Newest(long.MaxValue))
        {
            oldest = record;
        }

        return oldest;
    }

    /// <inheritdoc/>
    public LlmRequestRecord? Find(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        foreach (var record in this.Newest(long.MaxValue))
        {
            if (record.HasId(id))
            {
                return record;
            }
        }

        return null;
    }

    /// <inheritdoc/>
    public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, LlmHistoryQuery.MaxLimit);
        var result = new List<LlmRequestRecord>(Math.Min(limit, 64));
        foreach (var record in this.Newest(query.Before ?? long.MaxValue))
        {
            if (query.Matches(record))
            {
                result.Add(record);
                if (result.Count == limit)
                {
                    break;
                }
            }
        }

        return result;
    }

    /// <inheritdoc/>
    public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from)
    {
        var result = new List<LlmRequestRecord>();
        foreach (var record in this.Newest(long.MaxValue))
        {
            if (record.StartTime >= from)
            {
                result.Add(record);
            }
        }

        result.Reverse();
        return result;
    }

    /// <summary>The kept records below <paramref name="before"/>, newest first.</summary>
    private IEnumerable<LlmRequestRecord> Newest(long before)
    {
        var last = Volatile.Read(ref this.lastSeq);
        var top = Math.Min(last, before - 1);
        var bottom = Math.Max(1, last - this.ring.Length + 1);
        for (var seq = top; seq >= bottom; seq--)
        {
            var record = Volatile.Read(ref this.ring[(int)((seq - 1) % this.ring.Length)]);

            // A slot overwritten by a newer record (or not yet written) no longer holds seq: skip it.
            if (record is not null && record.Seq == seq)
            {
                yield return record;
            }
        }
    }
}
