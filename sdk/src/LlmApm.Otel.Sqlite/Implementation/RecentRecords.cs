using LlmApm.Otel.History;

namespace LlmApm.Otel.Sqlite.Implementation;

/// <summary>The newest records in memory, by sequence number: what the live view and the first pages read without
/// touching the database, and the whole history while the database is unavailable. A record is at
/// <c>seq % capacity</c>; a lock is enough, since the database, not this, is the store's slow part.</summary>
internal sealed class RecentRecords(int capacity)
{
    private readonly LlmRequestRecord?[] slots = new LlmRequestRecord?[capacity];
    private readonly Lock gate = new();
    private long newest;

    public int Capacity => this.slots.Length;

    /// <summary>Gets the oldest record kept, or <c>null</c> when none is.</summary>
    public LlmRequestRecord? Oldest
    {
        get
        {
            lock (this.gate)
            {
                for (var seq = this.LowestKept(); seq <= this.newest; seq++)
                {
                    if (this.At(seq) is { } record)
                    {
                        return record;
                    }
                }

                return null;
            }
        }
    }

    public void Put(LlmRequestRecord record)
    {
        lock (this.gate)
        {
            this.slots[record.Seq % this.slots.Length] = record;
            this.newest = Math.Max(this.newest, record.Seq);
        }
    }

    /// <summary>Replaces the record of the same seq, if it is still kept (a score was added to it).</summary>
    public void Replace(LlmRequestRecord record)
    {
        lock (this.gate)
        {
            if (this.At(record.Seq) is not null)
            {
                this.slots[record.Seq % this.slots.Length] = record;
            }
        }
    }

    public LlmRequestRecord? Find(string id)
    {
        lock (this.gate)
        {
            for (var seq = this.newest; seq >= this.LowestKept(); seq--)
            {
                if (this.At(seq) is { } record && string.Equals(record.Id, id, StringComparison.OrdinalIgnoreCase))
                {
                    return record;
                }
            }

            return null;
        }
    }

    /// <summary>The records that pass <paramref name="query"/>'s filters below its cursor, newest first, up to
    /// <paramref name="limit"/>.</summary>
    public List<LlmRequestRecord> Query(LlmHistoryQuery query, int limit)
    {
        var result = new List<LlmRequestRecord>();
        lock (this.gate)
        {
            var top = Math.Min(this.newest, (query.Before ?? long.MaxValue) - 1);
            for (var seq = top; seq >= this.LowestKept() && result.Count < limit; seq--)
            {
                if (this.At(seq) is { } record && query.Matches(record))
                {
                    result.Add(record);
                }
            }
        }

        return result;
    }

    /// <summary>The records that started at or after <paramref name="from"/>, oldest first.</summary>
    public List<LlmRequestRecord> Since(DateTimeOffset from)
    {
        var result = new List<LlmRequestRecord>();
        lock (this.gate)
        {
            for (var seq = this.LowestKept(); seq <= this.newest; seq++)
            {
                if (this.At(seq) is { } record && record.StartTime >= from)
                {
                    result.Add(record);
                }
            }
        }

        return result;
    }

    private long LowestKept() => Math.Max(1, this.newest - this.slots.Length + 1);

    // A slot may hold an older record that a newer one with the same remainder has not replaced yet.
    private LlmRequestRecord? At(long seq) => this.slots[seq % this.slots.Length] is { } record && record.Seq == seq ? record : null;
}
