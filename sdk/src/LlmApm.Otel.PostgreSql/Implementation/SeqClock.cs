namespace LlmApm.Otel.PostgreSql.Implementation;

/// <summary>Numbers records without asking the database, so that <c>Add</c> never waits and replicas never
/// coordinate: milliseconds since 2025 (40 bits), a replica slot from a hash of its id (5 bits) and a counter
/// (8 bits). The result stays below 2^53, exact in the dashboard's JavaScript numbers until 2059; it is monotonic
/// within a replica (the clock going back does not reuse a number) and ordered by time across replicas. Two
/// replicas whose ids share a slot may, in the same millisecond, produce the same number: both rows are kept
/// (the unique key is the replica and the number), only a page boundary may fall between them.</summary>
internal sealed class SeqClock
{
    private static readonly long Epoch = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private readonly long slot;
    private readonly TimeProvider time;
    private long last; // milliseconds << 8 | counter

    public SeqClock(string instanceId, TimeProvider? time = null)
    {
        this.slot = Slot(instanceId);
        this.time = time ?? TimeProvider.System;
    }

    public static long Slot(string instanceId)
    {
        // FNV-1a: stable across processes and runtimes, unlike string.GetHashCode.
        uint hash = 2166136261;
        foreach (var c in instanceId)
        {
            hash = (hash ^ c) * 16777619;
        }

        return hash & 31;
    }

    /// <summary>The millisecond a number was made in (for the live stream's look-back).</summary>
    public static DateTimeOffset TimeOf(long seq) => DateTimeOffset.FromUnixTimeMilliseconds(Epoch + (seq >> 13));

    /// <summary>The lowest number made at or after <paramref name="time"/>.</summary>
    public static long AtOrAfter(DateTimeOffset time) => Math.Max(0, time.ToUnixTimeMilliseconds() - Epoch) << 13;

    public long Next()
    {
        var now = Math.Max(0, this.time.GetUtcNow().ToUnixTimeMilliseconds() - Epoch) << 8;
        long current, next;
        do
        {
            current = Volatile.Read(ref this.last);
            next = Math.Max(current + 1, now);
        }
        while (Interlocked.CompareExchange(ref this.last, next, current) != current);

        return ((next >> 8) << 13) | (this.slot << 8) | (next & 255);
    }
}
