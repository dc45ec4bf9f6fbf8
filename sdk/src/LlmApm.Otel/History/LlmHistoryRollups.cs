using System.Collections.Concurrent;

namespace LlmApm.Otel.History;

/// <summary>
/// The history's aggregates kept as requests are added, so that <see cref="ILlmHistoryStore.Aggregate"/> costs the
/// same with a thousand records in the window as with a million: per period of time (5 seconds for the last 12.5
/// minutes, a minute for the last 25 hours), one cell per model, route and replica with its counts, tokens, exact cost
/// and latency histogram.
/// </summary>
/// <remarks>
/// A request counts in the period it started. The periods are rings indexed by time: a period is replaced when the
/// ring comes round to it, so what is kept is bounded by time and by the distinct models, routes and replicas, never by
/// the number of requests. Rollups outlive the records a store evicts: a summary counts every request of its window.
/// Writers lock only the cell they add to, readers each cell as they read it. A store of a host's own can keep one to
/// answer <see cref="ILlmHistoryStore.Aggregate"/>, as the built-in stores do.
/// </remarks>
public sealed class LlmHistoryRollups
{
    /// <summary>The longest window the fine periods answer.</summary>
    internal static readonly TimeSpan FineWindow = TimeSpan.FromMinutes(10);

    private readonly Level fine = new(TimeSpan.FromSeconds(5), 150, periodsPerBlock: 1);

    // Blocks of 30 minutes, the 24-hour series' bucket: 48 merges, not 1,440, for a day (1M records, summary 10 → 0.7 ms).
    private readonly Level coarse = new(TimeSpan.FromMinutes(1), 1500, periodsPerBlock: 30);

    /// <summary>Gets the span the rollups cover: a record that started longer ago than this before the newest is not
    /// in them.</summary>
    public static TimeSpan Kept => TimeSpan.FromHours(25);

    /// <summary>Adds a record to the periods it started in. Thread-safe; never throws for a valid record.</summary>
    /// <param name="record">The record.</param>
    public void Add(LlmRequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        this.fine.Add(record);
        this.coarse.Add(record);
    }

    /// <summary>The cells of a query: from the 5-second periods for a window of up to 10 minutes whose start and bucket
    /// are whole periods, else from the minutes (the start aligned down to a minute).</summary>
    /// <param name="query">The window, bucket and filters.</param>
    /// <returns>The cells that have requests.</returns>
    public IReadOnlyList<LlmHistoryCell> Aggregate(LlmHistoryAggregateQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        return this.LevelFor(query).Aggregate(query);
    }

    /// <summary>The replicas of the requests that started in a window, from the same periods as <see cref="Aggregate"/>
    /// (so a replica's count is what a summary filtered by it counts), the most recently seen first.</summary>
    /// <param name="from">The start of the window (aligned down to a period as in <see cref="Aggregate"/>).</param>
    /// <param name="before">The end of the window (exclusive).</param>
    /// <returns>At most <see cref="LlmReplicaRow.MaxRows"/> rows.</returns>
    public IReadOnlyList<LlmReplicaRow> Replicas(DateTimeOffset from, DateTimeOffset before)
    {
        var query = new LlmHistoryAggregateQuery { From = from, To = before, Bucket = before - from };
        return this.LevelFor(query).Replicas(query);
    }

    // The 5-second periods for a short window of whole periods, else the minutes: one rule for every answer, so that the
    // replica list counts what a summary counts.
    private Level LevelFor(LlmHistoryAggregateQuery query)
        => query.To - query.From <= FineWindow && this.fine.Fits(query) ? this.fine : this.coarse;

    private readonly record struct Key(string? Model, string Route, string? Replica)
    {
        public bool Is(LlmRequestRecord record)
            => string.Equals(this.Route, record.Route, StringComparison.Ordinal) && string.Equals(this.Model, record.Model, StringComparison.Ordinal) && string.Equals(this.Replica, record.Replica, StringComparison.Ordinal);
    }

    private sealed class Cell(Key key)
    {
        public Key Key { get; } = key;

        public readonly Lock Gate = new();
        public readonly LlmHistoryFiguresBuilder Figures = new();

        // The start of the cell's newest request (ticks), for the replica list's "last request".
        public long LastStartTicks;
    }

    private sealed class Period(long index)
    {
        public long Index { get; } = index;

        public ConcurrentDictionary<Key, Cell> Cells { get; } = new();

        // The cell written last; a stale read only costs a lookup.
        public Cell? Last { get; set; }
    }

    // The cells of a block of whole periods added up, as of a version of the block's writes.
    private sealed record Block(long Index, long Version, Dictionary<Key, LlmHistoryFiguresBuilder> Cells);

    private sealed class Level(TimeSpan resolution, int periods, int periodsPerBlock)
    {
        private readonly long ticks = resolution.Ticks;
        private readonly Period?[] ring = new Period?[periods];

        // A block's sum is kept for the next reader until a write to one of its periods moves the block's version on: a
        // past block rarely changes (only a request that started in it and ends late), so a day's summary reads mostly
        // sums. Slots are reused round the ring like periods; a shared version only costs a recomputation.
        private readonly long[] versions = periodsPerBlock > 1 ? new long[(periods / periodsPerBlock) + 2] : [];
        private readonly Block?[] blocks = periodsPerBlock > 1 ? new Block?[(periods / periodsPerBlock) + 2] : [];

        // A bucket as long as the window (a summary) need not be a whole number of periods: there is only one.
        public bool Fits(LlmHistoryAggregateQuery query)
            => query.From.UtcTicks % this.ticks == 0
                && (query.Bucket.Ticks % this.ticks == 0 || query.Bucket >= query.To - query.From);

        public void Add(LlmRequestRecord record)
        {
            var index = record.StartTime.UtcTicks / this.ticks;
            ref var slot = ref this.ring[index % this.ring.Length];
            var period = Volatile.Read(ref slot);
            while (period is null || period.Index < index)
            {
                var created = new Period(index);
                var found = Interlocked.CompareExchange(ref slot, created, period);
                period = ReferenceEquals(found, period) ? created : found;
            }

            if (period.Index != index)
            {
                return; // older than this ring keeps
            }

            // The last cell written is tried first: requests mostly repeat the route, model and replica of the one before,
            // and comparing three strings is cheaper than hashing them (Add of both levels: 128 -> 68-90 ns).
            var cell = period.Last;
            if (cell is null || !cell.Key.Is(record))
            {
                cell = period.Cells.GetOrAdd(new Key(record.Model, record.Route, record.Replica), static key => new Cell(key));
                period.Last = cell;
            }

            lock (cell.Gate)
            {
                cell.Figures.Add(record);
                cell.LastStartTicks = Math.Max(cell.LastStartTicks, record.StartTime.UtcTicks);
            }

            if (periodsPerBlock > 1)
            {
                Interlocked.Increment(ref this.versions[index / periodsPerBlock % this.versions.Length]);
            }
        }

        public IReadOnlyList<LlmReplicaRow> Replicas(LlmHistoryAggregateQuery query)
        {
            var first = (query.From.UtcTicks - (query.From.UtcTicks % this.ticks)) / this.ticks;
            var last = (query.To.UtcTicks - 1) / this.ticks;
            var rows = new Dictionary<string, (long Requests, long LastTicks)>(StringComparer.Ordinal);
            for (var index = Math.Max(first, last - this.ring.Length + 1); index <= last; index++)
            {
                var period = Volatile.Read(ref this.ring[index % this.ring.Length]);
                if (period is null || period.Index != index)
                {
                    continue;
                }

                foreach (var (key, cell) in period.Cells)
                {
                    if (key.Replica is not { } replica)
                    {
                        continue;
                    }

                    long count, lastTicks;
                    lock (cell.Gate)
                    {
                        (count, lastTicks) = (cell.Figures.Count, cell.LastStartTicks);
                    }

                    var (requests, newest) = rows.GetValueOrDefault(replica);
                    rows[replica] = (requests + count, Math.Max(newest, lastTicks));
                }
            }

            return LlmReplicaRow.Order(rows.Select(r => new LlmReplicaRow(r.Key, r.Value.Requests, new DateTimeOffset(r.Value.LastTicks, TimeSpan.Zero))));
        }

        public IReadOnlyList<LlmHistoryCell> Aggregate(LlmHistoryAggregateQuery query)
        {
            var from = query.From.UtcTicks - (query.From.UtcTicks % this.ticks);
            var bucketTicks = Math.Max(this.ticks, query.Bucket.Ticks);
            var first = from / this.ticks;
            var last = (query.To.UtcTicks - 1) / this.ticks;
            var result = new Dictionary<(long Bucket, string? Model), LlmHistoryFiguresBuilder>();
            var oldest = Math.Max(first, last - this.ring.Length + 1);
            for (var index = oldest; index <= last; index++)
            {
                var bucket = ((index * this.ticks) - from) / bucketTicks;
                var end = index + periodsPerBlock - 1;
                if (periodsPerBlock > 1 && index % periodsPerBlock == 0 && end <= last
                    && ((end * this.ticks) - from) / bucketTicks == bucket)
                {
                    // A whole block inside one bucket: its sum, then on past it.
                    foreach (var (key, figures) in this.BlockAt(index / periodsPerBlock).Cells)
                    {
                        if (Matches(query, key))
                        {
                            Into(result, bucket, key).Add(figures);
                        }
                    }

                    index = end;
                    continue;
                }

                var period = Volatile.Read(ref this.ring[index % this.ring.Length]);
                if (period is null || period.Index != index)
                {
                    continue;
                }

                foreach (var (key, cell) in period.Cells)
                {
                    if (!Matches(query, key))
                    {
                        continue;
                    }

                    var figures = Into(result, bucket, key);
                    lock (cell.Gate)
                    {
                        figures.Add(cell.Figures);
                    }
                }
            }

            var start = new DateTimeOffset(from, TimeSpan.Zero);
            return [.. result.Select(pair => pair.Value.ToCell(start + TimeSpan.FromTicks(pair.Key.Bucket * bucketTicks), pair.Key.Model))];
        }

        private static bool Matches(LlmHistoryAggregateQuery query, Key key)
            => (query.Model is null || string.Equals(key.Model, query.Model, StringComparison.Ordinal))
                && (query.Route is null || string.Equals(key.Route, query.Route, StringComparison.Ordinal))
                && (query.Replica is null || string.Equals(key.Replica, query.Replica, StringComparison.Ordinal));

        private static LlmHistoryFiguresBuilder Into(Dictionary<(long Bucket, string? Model), LlmHistoryFiguresBuilder> result, long bucket, Key key)
        {
            if (!result.TryGetValue((bucket, key.Model), out var figures))
            {
                result[(bucket, key.Model)] = figures = new LlmHistoryFiguresBuilder();
            }

            return figures;
        }

        // The block's kept sum if no write has reached it since; else the sum of its periods now, kept for the next reader.
        // The version is read before the periods: a write that lands while they are read leaves a newer version behind,
        // so the sum is recomputed next time rather than kept stale.
        private Block BlockAt(long blockIndex)
        {
            var slot = blockIndex % this.blocks.Length;
            var version = Volatile.Read(ref this.versions[slot]);
            var kept = Volatile.Read(ref this.blocks[slot]);
            if (kept is not null && kept.Index == blockIndex && kept.Version == version)
            {
                return kept;
            }

            var cells = new Dictionary<Key, LlmHistoryFiguresBuilder>();
            for (var index = blockIndex * periodsPerBlock; index < (blockIndex + 1) * periodsPerBlock; index++)
            {
                var period = Volatile.Read(ref this.ring[index % this.ring.Length]);
                if (period is null || period.Index != index)
                {
                    continue;
                }

                foreach (var (key, cell) in period.Cells)
                {
                    if (!cells.TryGetValue(key, out var figures))
                    {
                        cells[key] = figures = new LlmHistoryFiguresBuilder();
                    }

                    lock (cell.Gate)
                    {
                        figures.Add(cell.Figures);
                    }
                }
            }

            var block = new Block(blockIndex, version, cells);
            Volatile.Write(ref this.blocks[slot], block);
            return block;
        }
    }
}
