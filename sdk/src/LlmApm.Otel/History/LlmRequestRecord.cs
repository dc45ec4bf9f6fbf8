using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace LlmApm.Otel.History;

/// <summary>One finished request as the history keeps it: an immutable value users read. The stores keep it in their
/// own shapes (the ring's slot, a database row) and the history API sends its own wire model, so this type says only
/// what a request was.</summary>
public sealed class LlmRequestRecord
{
    // The history keeps thousands of records: the three hex ids of a record built by the history processor are kept as
    // numbers (40 bytes) instead of strings (232 bytes), and formatted when read. A string set from outside is kept.
    private static readonly SearchValues<char> LowercaseHex = SearchValues.Create("0123456789abcdef");

    private readonly string? id;
    private readonly string? traceId;
    private readonly string? spanId;
    // Pairs of ulongs rather than UInt128, whose 16-byte alignment would pad the object.
    private readonly ulong idHigh;
    private readonly ulong idLow;
    private readonly ulong traceIdHigh;
    private readonly ulong traceIdLow;
    private readonly ulong packedSpanId;
    private readonly bool idPacked;
    private readonly bool traceIdPacked;
    private readonly bool spanIdPacked;
    private IReadOnlyList<LlmScore> scores = [];

    /// <summary>Initializes a new instance of the <see cref="LlmRequestRecord"/> class.</summary>
    public LlmRequestRecord()
    {
    }

    /// <summary>Initializes a record of the history processor, with its ids packed.</summary>
#pragma warning disable CS8618 // Id and TraceId are set, packed: the compiler cannot see it through their accessors.
    [SetsRequiredMembers]
    internal LlmRequestRecord(string id, ActivityTraceId traceId, ActivitySpanId spanId, string route, string status)
    {
        if (TryPack(id, out this.idHigh, out this.idLow))
        {
            this.idPacked = true;
        }
        else
        {
            this.id = id;
        }

        Span<byte> bytes = stackalloc byte[16];
        traceId.CopyTo(bytes);
        this.traceIdHigh = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        this.traceIdLow = BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        this.traceIdPacked = true;
        spanId.CopyTo(bytes[..8]); // exactly 8 bytes: CopyTo reads two hex digits per destination byte
        this.packedSpanId = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        this.spanIdPacked = true;
        this.Route = route;
        this.Status = status;
    }

    /// <summary>Initializes a record read back from the in-memory ring, whose ids are kept as numbers.</summary>
    [SetsRequiredMembers]
    internal LlmRequestRecord(long seq, ulong idHigh, ulong idLow, ulong traceIdHigh, ulong traceIdLow, ulong? spanId, string route, string status)
    {
        this.Seq = seq;
        this.idHigh = idHigh;
        this.idLow = idLow;
        this.idPacked = true;
        this.traceIdHigh = traceIdHigh;
        this.traceIdLow = traceIdLow;
        this.traceIdPacked = true;
        if (spanId is { } packed)
        {
            this.packedSpanId = packed;
            this.spanIdPacked = true;
        }

        this.Route = route;
        this.Status = status;
    }
#pragma warning restore CS8618

    /// <summary>Gets the request id.</summary>
    public required string Id
    {
        get => this.idPacked ? Format(this.idHigh, this.idLow) : this.id!;
        init
        {
            this.id = value;
            this.idPacked = false;
        }
    }

    /// <summary>Gets the store's sequence number: higher is newer; 0 until a store numbers the record (see
    /// <see cref="WithSeq"/>).</summary>
    public long Seq { get; private set; }

    /// <summary>Gets the trace id of the request span.</summary>
    public required string TraceId
    {
        get => this.traceIdPacked ? Format(this.traceIdHigh, this.traceIdLow) : this.traceId!;
        init
        {
            this.traceId = value;
            this.traceIdPacked = false;
        }
    }

    /// <summary>Gets the span id of the request span.</summary>
    public string? SpanId
    {
        get => this.spanIdPacked ? Format(this.packedSpanId) : this.spanId;
        init
        {
            this.spanId = value;
            this.spanIdPacked = false;
        }
    }

    /// <summary>Gets the start time.</summary>
    public DateTimeOffset StartTime { get; init; }

    /// <summary>Gets the duration in milliseconds.</summary>
    public double DurationMs { get; init; }

    /// <summary>Gets the route template.</summary>
    public required string Route { get; init; }

    /// <summary>Gets the model, as reported.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the provider.</summary>
    public string? Provider { get; init; }

    /// <summary>Gets the conversation id.</summary>
    public string? ConversationId { get; init; }

    /// <summary>Gets the replica that served the request: the OpenTelemetry resource's <c>service.instance.id</c>, or
    /// when the resource has none, <c>host-pid</c> of the process (see docs/architecture.md). <c>null</c> for a record
    /// written before replicas were kept.</summary>
    public string? Replica { get; init; }

    /// <summary>Gets the user the request was made for (<see cref="LlmRequest.UserId"/>).</summary>
    public string? UserId { get; init; }

    /// <summary>Gets the tenant the request was made for (<see cref="LlmRequest.TenantId"/>).</summary>
    public string? TenantId { get; init; }

    /// <summary>Gets the request's custom properties (<see cref="LlmRequest.SetProperty"/>); empty when it has none.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = LlmAttribution.NoProperties;

    /// <summary>Gets the status: <c>ok</c> or <c>error</c>.</summary>
    public required string Status { get; init; }

    /// <summary>Gets the error type, or <c>null</c>.</summary>
    public string? ErrorType { get; init; }

    /// <summary>Gets the error message, or <c>null</c>.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Gets the token counts of the request, all its LLM calls together.</summary>
    public LlmUsage Usage { get; init; }

    /// <summary>Gets the cost in US dollars, or <c>null</c> when <see cref="Unpriced"/>.</summary>
    public decimal? CostUsd { get; init; }

    /// <summary>Gets a value indicating whether a model used has no price.</summary>
    public bool Unpriced { get; init; }

    /// <summary>Gets the steps, in start order.</summary>
    public IReadOnlyList<LlmStepRecord> Steps { get; init; } = [];

    /// <summary>Gets the number of other sources' spans of the request that were not kept as steps, past
    /// <see cref="LlmApmOptions.MaxSourceStepsPerRequest"/>.</summary>
    public int DroppedSteps { get; init; }

    /// <summary>Gets the captured content, or <c>null</c> unless content capture is on.</summary>
    public LlmContentRecord? Content { get; init; }

    /// <summary>Gets the scores given to the request (user feedback, evaluations), oldest first.</summary>
    public IReadOnlyList<LlmScore> Scores
    {
        get => this.scores;
        init => this.scores = value ?? [];
    }

    /// <summary>Gets a value indicating whether one of <see cref="Scores"/> is negative.</summary>
    internal bool HasNegativeScore => this.Scores.Any(s => s.Polarity == LlmScorePolarity.Negative);

    /// <summary>A copy of this record with <paramref name="scores"/>: how a store returns the scores it keeps apart
    /// from the record, leaving the caller's record as it was.</summary>
    /// <param name="scores">The scores, oldest first.</param>
    /// <returns>The copy.</returns>
    public LlmRequestRecord WithScores(IReadOnlyList<LlmScore> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var copy = (LlmRequestRecord)this.MemberwiseClone();
        copy.scores = scores;
        return copy;
    }

    /// <summary>A copy of this record numbered <paramref name="seq"/>: how a store assigns <see cref="Seq"/> to the
    /// record it keeps, leaving the caller's record as it was.</summary>
    /// <param name="seq">The store's sequence number, 1 or more.</param>
    /// <returns>The numbered copy.</returns>
    public LlmRequestRecord WithSeq(long seq)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seq, 1);
        var copy = (LlmRequestRecord)this.MemberwiseClone();
        copy.Seq = seq;
        return copy;
    }

    /// <summary>Whether the record's id is <paramref name="candidate"/> (case-insensitive), without formatting it.</summary>
    internal bool HasId(string candidate)
        => this.idPacked
            ? TryPack(candidate, out var high, out var low) && high == this.idHigh && low == this.idLow
            : string.Equals(this.id, candidate, StringComparison.OrdinalIgnoreCase);

    /// <summary>The record's three ids as numbers, packing ids that were set as strings when they are canonical
    /// (lowercase hex of the right length). <c>false</c> when one of them cannot be kept as a number.</summary>
    internal bool TryGetPackedIds(out ulong idHigh, out ulong idLow, out ulong traceIdHigh, out ulong traceIdLow, out ulong? spanId)
    {
        spanId = null;
        traceIdHigh = traceIdLow = 0;
        if (this.idPacked)
        {
            idHigh = this.idHigh;
            idLow = this.idLow;
        }
        else if (this.id is null || !TryPack(this.id, out idHigh, out idLow))
        {
            idHigh = idLow = 0;
            return false;
        }

        if (this.traceIdPacked)
        {
            traceIdHigh = this.traceIdHigh;
            traceIdLow = this.traceIdLow;
        }
        else if (this.traceId is null || !TryPack(this.traceId, out traceIdHigh, out traceIdLow))
        {
            return false;
        }

        if (this.spanIdPacked)
        {
            spanId = this.packedSpanId;
        }
        else if (this.spanId is not null)
        {
            if (!TryPack(this.spanId, out var span))
            {
                return false;
            }

            spanId = span;
        }

        return true;
    }

    /// <summary>Packs 32 lowercase hex digits into two numbers; any other string is refused.</summary>
    internal static bool TryPack(string hex, out ulong high, out ulong low)
    {
        low = 0;
        return TryPack(hex.AsSpan(), 32, out high) && TryPack(hex.AsSpan(16), 16, out low);
    }

    /// <summary>Packs 16 lowercase hex digits into a number; any other string is refused.</summary>
    internal static bool TryPack(string hex, out ulong value) => TryPack(hex.AsSpan(), 16, out value);

    /// <summary>Packs the first 16 of <paramref name="hex"/>'s digits, when it has <paramref name="length"/> digits, all
    /// lowercase hex: only the canonical form is packed, so that formatting it back gives the same string.</summary>
    private static bool TryPack(ReadOnlySpan<char> hex, int length, out ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        value = 0;
        if (hex.Length != length || hex.ContainsAnyExcept(LowercaseHex)
            || Convert.FromHexString(hex[..16], bytes, out _, out var written) != OperationStatus.Done || written != 8)
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt64BigEndian(bytes);
        return true;
    }

    /// <summary>Formats two numbers as 32 lowercase hex digits.</summary>
    internal static string Format(ulong high, ulong low)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, high);
        BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], low);
        return Convert.ToHexStringLower(bytes);
    }

    private static string Format(ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return Convert.ToHexStringLower(bytes);
    }
}

/// <summary>One step of a request record. A value: a record's steps are one array, not one object per step.</summary>
/// <param name="Name">The step name.</param>
/// <param name="OffsetMs">Milliseconds from the request's start to the step's start.</param>
/// <param name="DurationMs">The step's duration in milliseconds.</param>
/// <param name="Status"><c>ok</c> or <c>error</c>.</param>
/// <param name="ErrorType">The error type, or <c>null</c>.</param>
/// <param name="Depth">0 for a step directly under the request, 1 for a step inside a step, and so on.</param>
/// <param name="Kind">What the step is, one of <see cref="LlmStepKinds"/> or another source's kind (such as <c>http</c>).</param>
/// <param name="Price">For an LLM call's step, the price entry its cost used (<c>llm.price</c>), else <c>null</c>.</param>
public readonly record struct LlmStepRecord(string Name, double OffsetMs, double DurationMs, string Status, string? ErrorType, int Depth, string Kind = LlmStepKinds.Step, string? Price = null);

/// <summary>The kinds of step LLM-APM records; the history keeps any other kind as given.</summary>
public static class LlmStepKinds
{
    /// <summary><c>step</c>: a step of the application's own (<see cref="LlmStep"/>).</summary>
    public const string Step = "step";

    /// <summary><c>llm_call</c>: a call to a model (the GenAI operations <c>chat</c>, <c>text_completion</c>,
    /// <c>generate_content</c>).</summary>
    public const string LlmCall = "llm_call";

    /// <summary><c>tool</c>: a tool invocation (<c>execute_tool</c>).</summary>
    public const string Tool = "tool";

    /// <summary><c>embedding</c>: a call to an embedding model (<c>embeddings</c>).</summary>
    public const string Embedding = "embedding";

    /// <summary><c>agent</c>: an agent's invocation or creation (<c>invoke_agent</c>, <c>create_agent</c>).</summary>
    public const string Agent = "agent";

    /// <summary>The kind of a span from its <c>gen_ai.operation.name</c>, else from LLM-APM's own step name (a model call
    /// recorded beside Microsoft.Extensions.AI's instrumentation has no GenAI attributes); <see cref="Step"/> otherwise.</summary>
    internal static string FromOperation(string? operation, string? stepName = null) => operation switch
    {
        null => stepName switch
        {
            LlmApmTelemetry.Steps.LlmApiCall => LlmCall,
            LlmApmTelemetry.Steps.EmbeddingCall => Embedding,
            _ => Step,
        },
        "chat" or "text_completion" or "generate_content" => LlmCall,
        "execute_tool" => Tool,
        "embeddings" => Embedding,
        "invoke_agent" or "create_agent" => Agent,
        _ => Step,
    };
}

/// <summary>Captured prompt and completion, after redaction.</summary>
/// <param name="Prompt">The prompt.</param>
/// <param name="Completion">The completion.</param>
public sealed record LlmContentRecord(string? Prompt, string? Completion);
