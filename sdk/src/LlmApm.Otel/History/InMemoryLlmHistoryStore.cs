using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.History;

/// <summary>The default history store: a bounded, lock-free ring of the newest finished requests.</summary>
/// <remarks>
/// <para>The ring keeps its records as values, not objects: each slot is a struct in a preallocated array (ids as
/// numbers, route, model and step names as numbers in a shared table of strings, steps inline), and a
/// <see cref="LlmRequestRecord"/> is built only when the history is read. A record added to the ring lives for one
/// turn of it, far longer than the garbage collector's young generations: kept as objects, every record would be
/// promoted and die in generation 2, and the full collections that follow are the pauses an application notices.
/// Kept as values, the ring is a few long-lived arrays that nothing needs to promote.</para>
/// <para>A record that does not fit a slot (an id that is not 32 hex digits, more than eight steps, a step deeper than
/// 127, an error message, captured content, or more distinct names or price entries than the tables hold) is kept as
/// it is, as an object.</para>
/// <para>Tenants are numbers in the shared table. User ids are an unbounded set: the first
/// <see cref="UserTableCapacity"/> distinct ids are kept once in a table of their own and the slots refer to that one
/// string; beyond it a slot refers to the record's own id. A record with properties refers to its dictionary.</para>
/// <para>Each slot is guarded by its stamp, the sequence number of the record it holds: a writer claims the slot,
/// fills it and publishes the new stamp; a reader copies the slot and keeps the copy only if the stamp is unchanged.</para>
/// </remarks>
internal sealed class InMemoryLlmHistoryStore : ILlmHistoryStore
{
    /// <summary>The steps a slot keeps inline; a request with more is kept as an object.</summary>
    internal const int StepsPerSlot = 8;

    private const int ChunkShift = 10;
    private const int ChunkLength = 1 << ChunkShift;
    private const int StringCapacity = 4096;
    private const int UserTableCapacity = 8192;

    // A step's price entry is one byte (0 for none), so that a step stays 24 bytes: a process prices its calls with a
    // few entries of the catalogue, and a record whose step needs a 256th is kept as an object.
    private const int PriceTableCapacity = byte.MaxValue;
    private const byte StepError = 0x80;
    private const int MaxSlotDepth = 0x7f;
    private const long Writing = -1;

    private readonly int capacity;
    private readonly Slot[]?[] chunks;
    private readonly StepSlot[]?[] stepChunks;
    private readonly LlmStringTable strings = new(StringCapacity);
    private readonly LlmStringTable users = new(UserTableCapacity);
    private readonly LlmStringTable prices = new(PriceTableCapacity);
    private readonly LlmHistoryRollups rollups = new();
    private readonly LlmScoreTable scores;
    private long lastSeq;

    /// <summary>Initializes a new instance of the <see cref="InMemoryLlmHistoryStore"/> class.</summary>
    /// <param name="capacity">The number of records kept.</param>
    public InMemoryLlmHistoryStore(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        this.capacity = capacity;
        this.scores = new LlmScoreTable(capacity);

        // Slots are allocated a chunk of 1,024 at a time as the ring first fills, so a large capacity costs memory
        // only once it is used.
        var chunkCount = (capacity + ChunkLength - 1) >> ChunkShift;
        this.chunks = new Slot[chunkCount][];
        this.stepChunks = new StepSlot[chunkCount][];
    }

    /// <summary>Initializes a new instance of the <see cref="InMemoryLlmHistoryStore"/> class.</summary>
    /// <param name="options">The options; <see cref="LlmApmOptions.HistoryCapacity"/> sets the capacity.</param>
    public InMemoryLlmHistoryStore(IOptions<LlmApmOptions> options)
        : this(Math.Max(1, options?.Value.HistoryCapacity ?? 1))
    {
    }

    /// <summary>Gets the number of records the ring keeps.</summary>
    public int Capacity => this.capacity;

    /// <summary>Gets the number of records added since the start.</summary>
    public long TotalAdded => Volatile.Read(ref this.lastSeq);

    /// <summary>Gets the bytes a slot and its steps take: what a full ring holds per record (a record kept as an
    /// object takes its own size on top).</summary>
    internal static int BytesPerRecord => Unsafe.SizeOf<Slot>() + (Unsafe.SizeOf<StepSlot>() * StepsPerSlot);

    /// <inheritdoc/>
    public long Add(LlmRequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var seq = Interlocked.Increment(ref this.lastSeq);
        if (record.Scores.Count > 0)
        {
            // Scores given during the request live in the score table, like those given later: the slot stays a value.
            foreach (var score in record.Scores)
            {
                this.scores.Add(record.Id, score);
            }

            record = record.WithScores([]);
        }

        this.Write(seq, record);
        this.rollups.Add(record);
        return seq;
    }

    /// <inheritdoc/>
    public bool AddScore(string requestId, LlmScore score)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        ArgumentNullException.ThrowIfNull(score);
        if (this.Find(requestId) is not { } record)
        {
            return false;
        }

        this.scores.Add(record.Id, score);
        return true;
    }

    /// <summary>Counts the kept records that did not fit a slot and are kept as objects.</summary>
    internal int CountKeptAsObjects()
    {
        var count = 0;
        foreach (var chunk in this.chunks)
        {
            foreach (ref readonly var slot in chunk.AsSpan())
            {
                count += slot.Overflow is null ? 0 : 1;
            }
        }

        return count;
    }

    /// <inheritdoc/>
    public LlmRequestRecord? Find(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var packed = LlmRequestRecord.TryPack(id.ToLowerInvariant(), out var high, out var low);
        var last = Volatile.Read(ref this.lastSeq);
        Span<StepSlot> steps = stackalloc StepSlot[StepsPerSlot];
        for (var seq = last; seq >= this.OldestKept(last); seq--)
        {
            if (!this.TryCopy(seq, out var slot, steps))
            {
                continue;
            }

            if (slot.Overflow is { } kept)
            {
                if (kept.HasId(id))
                {
                    return this.scores.Attach(kept);
                }
            }
            else if (packed && slot.IdHigh == high && slot.IdLow == low)
            {
                return this.scores.Attach(this.Build(in slot, steps, seq));
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
        var last = Volatile.Read(ref this.lastSeq);
        var top = Math.Min(last, (query.Before ?? long.MaxValue) - 1);
        Span<StepSlot> steps = stackalloc StepSlot[StepsPerSlot];
        for (var seq = top; seq >= this.OldestKept(last); seq--)
        {
            if (!this.TryCopy(seq, out var slot, steps) || !this.MayMatch(in slot, query))
            {
                continue;
            }

            var record = this.scores.Attach(this.Build(in slot, steps, seq));
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
        var last = Volatile.Read(ref this.lastSeq);
        Span<StepSlot> steps = stackalloc StepSlot[StepsPerSlot];
        for (var seq = last; seq >= this.OldestKept(last); seq--)
        {
            if (this.TryCopy(seq, out var slot, steps)
                && (slot.Overflow is { } kept ? kept.StartTime >= from : slot.StartTicks >= from.UtcTicks))
            {
                result.Add(this.scores.Attach(this.Build(in slot, steps, seq)));
            }
        }

        result.Reverse();
        return result;
    }

    /// <inheritdoc/>
    /// <remarks>From the rollups, which outlive the ring: every request of the last 25 hours counts, also those the ring
    /// no longer holds.</remarks>
    public IReadOnlyList<LlmHistoryCell> Aggregate(LlmHistoryAggregateQuery query) => this.rollups.Aggregate(query);

    /// <inheritdoc/>
    /// <remarks>From the rollups, as <see cref="Aggregate"/>: a replica's count is what a summary filtered by it counts,
    /// evicted records included. In memory a store knows only the replicas of its own process (one, unless the host
    /// adds records of others).</remarks>
    public IReadOnlyList<LlmReplicaRow> Replicas(DateTimeOffset from, DateTimeOffset before) => this.rollups.Replicas(from, before);

    private void Write(long seq, LlmRequestRecord record)
    {
        var index = (int)((seq - 1) % this.capacity);
        ref var slot = ref this.SlotAt(index);
        var steps = this.StepsAt(index);

        // Claim the slot. Two writers meet here only when the ring turns over while both write (a tiny ring): the
        // newer record wins, and an older one that comes late is already out of the ring.
        var spin = default(SpinWait);
        while (true)
        {
            var stamp = Volatile.Read(ref slot.Stamp);
            if (stamp >= seq)
            {
                return;
            }

            if (stamp != Writing && Interlocked.CompareExchange(ref slot.Stamp, Writing, stamp) == stamp)
            {
                break;
            }

            spin.SpinOnce(sleep1Threshold: -1);
        }

        if (!this.TryEncode(record, out var value, steps))
        {
            // Only a record kept as an object needs its number on it; a slot's record is numbered when built.
            value = default;
            value.Overflow = record.WithSeq(seq);
        }

        value.Stamp = Writing;
        slot = value;
        Volatile.Write(ref slot.Stamp, seq);
    }

    private bool TryEncode(LlmRequestRecord record, out Slot slot, Span<StepSlot> steps)
    {
        slot = default;
        if (!(record.ErrorMessage is null
            && record.Content is null
            && record.StartTime.Offset == TimeSpan.Zero
            && record.Steps.Count <= StepsPerSlot
            && record.DroppedSteps == 0
            && record.TryGetPackedIds(out slot.IdHigh, out slot.IdLow, out slot.TraceIdHigh, out slot.TraceIdLow, out var spanId)
            && TryStatus(record.Status, out var error)
            && this.strings.TryIndex(record.Route, out slot.Route)
            && this.strings.TryIndexOrNull(record.Model, out slot.Model)
            && this.strings.TryIndexOrNull(record.Provider, out slot.Provider)
            && this.strings.TryIndexOrNull(record.ErrorType, out slot.ErrorType)
            && this.strings.TryIndexOrNull(record.Replica, out slot.Replica)
            && this.strings.TryIndexOrNull(record.TenantId, out slot.Tenant)))
        {
            return false;
        }

        // One instance per user while the table has room, so that the ring does not keep a string per record.
        if (record.UserId is { } user)
        {
            slot.User = this.users.TryIndex(user, out var userIndex) ? this.users[userIndex] : user;
        }

        slot.Properties = record.Properties.Count == 0 ? null : record.Properties;

        var flags = error ? SlotFlags.Error : SlotFlags.None;
        if (spanId is { } span)
        {
            slot.SpanId = span;
            flags |= SlotFlags.HasSpanId;
        }

        if (record.ConversationId is { } conversation)
        {
            if (!LlmRequestRecord.TryPack(conversation, out slot.ConversationHigh, out slot.ConversationLow))
            {
                return false;
            }

            flags |= SlotFlags.HasConversation;
        }

        var tokens = record.Usage;
        slot.InputTokens = tokens.InputTokens;
        slot.OutputTokens = tokens.OutputTokens;
        slot.CachedInputTokens = tokens.CachedInputTokens;
        slot.CacheWriteInputTokens = tokens.CacheWriteInputTokens;
        slot.ReasoningTokens = tokens.ReasoningTokens;
        flags |= tokens.Estimated ? SlotFlags.Estimated : SlotFlags.None;
        flags |= record.Unpriced ? SlotFlags.Unpriced : SlotFlags.None;
        if (record.CostUsd is { } cost)
        {
            slot.Cost = cost;
            flags |= SlotFlags.HasCost;
        }

        slot.StartTicks = record.StartTime.UtcTicks;
        slot.DurationMs = record.DurationMs;

        // Indexed, not foreach: enumerating the IReadOnlyList allocated an enumerator per record (32 B).
        var recordSteps = record.Steps;
        var count = 0;
        for (var i = 0; i < recordSteps.Count; i++)
        {
            var step = recordSteps[i];
            ref var target = ref steps[count++];
            if (!TryStatus(step.Status, out var stepError)
                || step.Depth is < 0 or > MaxSlotDepth
                || !this.strings.TryIndex(step.Name, out target.Name)
                || !this.strings.TryIndexOrNull(step.ErrorType, out target.ErrorType)
                || !this.strings.TryIndex(step.Kind ?? LlmStepKinds.Step, out target.Kind)
                || !this.prices.TryIndexOrNull(step.Price, out var price))
            {
                return false;
            }

            target.OffsetMs = step.OffsetMs;
            target.DurationMs = step.DurationMs;
            target.Price = (byte)(price + 1);
            target.DepthAndError = (byte)(step.Depth | (stepError ? StepError : 0));
        }

        slot.StepCount = (byte)count;
        slot.Flags = flags;
        return true;
    }

    /// <summary>Copies the slot of <paramref name="seq"/> and its steps, if it still holds that record.</summary>
    private bool TryCopy(long seq, out Slot slot, Span<StepSlot> steps)
    {
        var index = (int)((seq - 1) % this.capacity);
        var chunk = Volatile.Read(ref this.chunks[index >> ChunkShift]);
        var stepChunk = Volatile.Read(ref this.stepChunks[index >> ChunkShift]);
        if (chunk is null || stepChunk is null)
        {
            slot = default;
            return false;
        }

        ref var source = ref chunk[index & (ChunkLength - 1)];
        if (Volatile.Read(ref source.Stamp) != seq)
        {
            slot = default;
            return false;
        }

        slot = source;
        stepChunk.AsSpan((index & (ChunkLength - 1)) * StepsPerSlot, StepsPerSlot).CopyTo(steps);

        // The copy counts only if no writer claimed the slot meanwhile (its stamp would have changed).
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref source.Stamp) == seq;
    }

    /// <summary>A cheap test on the slot's values before a record is built for <see cref="LlmHistoryQuery.Matches"/>.</summary>
    private bool MayMatch(in Slot slot, LlmHistoryQuery query)
    {
        if (slot.Overflow is not null)
        {
            return true;
        }

        if (query.NegativeOnly && this.scores.IsEmpty)
        {
            return false;
        }

        if (query.Status is { } status && !string.Equals(status, (slot.Flags & SlotFlags.Error) != 0 ? "error" : "ok", StringComparison.Ordinal))
        {
            return false;
        }

        if (query.Model is { } model && (slot.Model < 0 || !string.Equals(this.strings[slot.Model], model, StringComparison.Ordinal)))
        {
            return false;
        }

        if (query.Replica is { } replica && (slot.Replica < 0 || !string.Equals(this.strings[slot.Replica], replica, StringComparison.Ordinal)))
        {
            return false;
        }

        if (query.TenantId is { } tenant && (slot.Tenant < 0 || !string.Equals(this.strings[slot.Tenant], tenant, StringComparison.Ordinal)))
        {
            return false;
        }

        if (query.UserId is { } user && !string.Equals(slot.User, user, StringComparison.Ordinal))
        {
            return false;
        }

        if (query.PropertyKey is { } key && (slot.Properties is null || !slot.Properties.ContainsKey(key)))
        {
            return false;
        }

        return query.Route is not { } route || string.Equals(this.strings[slot.Route], route, StringComparison.Ordinal);
    }

    private LlmRequestRecord Build(in Slot slot, ReadOnlySpan<StepSlot> steps, long seq)
    {
        if (slot.Overflow is { } kept)
        {
            return kept;
        }

        var flags = slot.Flags;
        var stepRecords = slot.StepCount == 0 ? [] : new LlmStepRecord[slot.StepCount];
        for (var i = 0; i < stepRecords.Length; i++)
        {
            ref readonly var step = ref steps[i];
            stepRecords[i] = new LlmStepRecord(
                this.strings[step.Name],
                step.OffsetMs,
                step.DurationMs,
                (step.DepthAndError & StepError) != 0 ? "error" : "ok",
                this.strings.OrNull(step.ErrorType),
                step.DepthAndError & MaxSlotDepth,
                this.strings[step.Kind],
                this.prices.OrNull((short)(step.Price - 1)));
        }

        return new LlmRequestRecord(
            seq,
            slot.IdHigh,
            slot.IdLow,
            slot.TraceIdHigh,
            slot.TraceIdLow,
            (flags & SlotFlags.HasSpanId) != 0 ? slot.SpanId : null,
            this.strings[slot.Route],
            (flags & SlotFlags.Error) != 0 ? "error" : "ok")
        {
            StartTime = new DateTimeOffset(slot.StartTicks, TimeSpan.Zero),
            DurationMs = slot.DurationMs,
            Model = this.strings.OrNull(slot.Model),
            Provider = this.strings.OrNull(slot.Provider),
            ConversationId = (flags & SlotFlags.HasConversation) != 0
                ? LlmRequestRecord.Format(slot.ConversationHigh, slot.ConversationLow)
                : null,
            ErrorType = this.strings.OrNull(slot.ErrorType),
            Replica = this.strings.OrNull(slot.Replica),
            UserId = slot.User,
            TenantId = this.strings.OrNull(slot.Tenant),
            Properties = slot.Properties ?? LlmAttribution.NoProperties,
            Usage = new LlmUsage(
                slot.InputTokens,
                slot.OutputTokens,
                slot.CachedInputTokens,
                slot.ReasoningTokens,
                (flags & SlotFlags.Estimated) != 0)
            {
                CacheWriteInputTokens = slot.CacheWriteInputTokens,
            },
            CostUsd = (flags & SlotFlags.HasCost) != 0 ? slot.Cost : null,
            Unpriced = (flags & SlotFlags.Unpriced) != 0,
            Steps = stepRecords,
        };
    }

    private static bool TryStatus(string status, out bool error)
    {
        error = string.Equals(status, "error", StringComparison.Ordinal);
        return error || string.Equals(status, "ok", StringComparison.Ordinal);
    }

    private ref Slot SlotAt(int index)
    {
        var chunkIndex = index >> ChunkShift;
        var chunk = Volatile.Read(ref this.chunks[chunkIndex]);
        if (chunk is null)
        {
            var created = new Slot[this.ChunkSize(chunkIndex)];
            chunk = Interlocked.CompareExchange(ref this.chunks[chunkIndex], created, null) ?? created;
        }

        return ref chunk[index & (ChunkLength - 1)];
    }

    private Span<StepSlot> StepsAt(int index)
    {
        var chunkIndex = index >> ChunkShift;
        var chunk = Volatile.Read(ref this.stepChunks[chunkIndex]);
        if (chunk is null)
        {
            var created = new StepSlot[this.ChunkSize(chunkIndex) * StepsPerSlot];
            chunk = Interlocked.CompareExchange(ref this.stepChunks[chunkIndex], created, null) ?? created;
        }

        return chunk.AsSpan((index & (ChunkLength - 1)) * StepsPerSlot, StepsPerSlot);
    }

    /// <summary>The sequence number of the oldest record the ring can still hold when <paramref name="last"/> is the newest.</summary>
    private long OldestKept(long last) => Math.Max(1, last - this.capacity + 1);

    private int ChunkSize(int chunkIndex) => Math.Min(ChunkLength, this.capacity - (chunkIndex << ChunkShift));

    [Flags]
    private enum SlotFlags : byte
    {
        None = 0,
        Error = 1,
        HasSpanId = 2,
        HasConversation = 4,
        Estimated = 8,
        Unpriced = 16,
        HasCost = 32,
    }

    /// <summary>One kept request. <see cref="Overflow"/> is set, and nothing else, for a record kept as an object.</summary>
    private struct Slot
    {
        public long Stamp;
        public ulong IdHigh;
        public ulong IdLow;
        public ulong TraceIdHigh;
        public ulong TraceIdLow;
        public ulong SpanId;
        public ulong ConversationHigh;
        public ulong ConversationLow;
        public long StartTicks;
        public double DurationMs;
        public long InputTokens;
        public long OutputTokens;
        public long CachedInputTokens;
        public long CacheWriteInputTokens;
        public long ReasoningTokens;
        public decimal Cost;
        public LlmRequestRecord? Overflow;
        public string? User;
        public IReadOnlyDictionary<string, string>? Properties;
        public short Route;
        public short Model;
        public short Provider;
        public short ErrorType;
        public short Replica;
        public short Tenant;
        public byte StepCount;
        public SlotFlags Flags;
    }

    /// <summary>One step of a kept request.</summary>
    private struct StepSlot
    {
        public double OffsetMs;
        public double DurationMs;
        public short Name;
        public short ErrorType;
        public short Kind;
        public byte Price; // 1 + its number in the table of prices, 0 for none
        public byte DepthAndError; // the depth (at most 127), with StepError when the step failed
    }
}
