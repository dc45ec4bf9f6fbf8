using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace LlmApm.Otel.History;

/// <summary>One finished request as the history keeps it. Serialised as the request record of the history API.</summary>
public sealed class LlmRequestRecord
{
    // The history keeps thousands of records: the three hex ids of a record built by the history processor are kept as
    // numbers (40 bytes) instead of strings (232 bytes), and formatted when read. A string set from outside is kept.
    private static readonly SearchValues<char> LowercaseHex = SearchValues.Create("0123456789abcdef");

    private string? id;
    private string? traceId;
    private string? spanId;
    // Pairs of ulongs rather than UInt128, whose 16-byte alignment would pad the object.
    private readonly ulong idHigh;
    private readonly ulong idLow;
    private readonly ulong traceIdHigh;
    private readonly ulong traceIdLow;
    private readonly ulong packedSpanId;
    private bool idPacked;
    private bool traceIdPacked;
    private bool spanIdPacked;

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
    internal LlmRequestRecord(ulong idHigh, ulong idLow, ulong traceIdHigh, ulong traceIdLow, ulong? spanId, string route, string status)
    {
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

    /// <summary>Gets or sets the request id.</summary>
    public required string Id
    {
        get => this.idPacked ? Format(this.idHigh, this.idLow) : this.id!;
        set
        {
            this.id = value;
            this.idPacked = false;
        }
    }

    /// <summary>Gets or sets the store's sequence number: higher is newer. Assigned by the store.</summary>
    public long Seq { get; set; }

    /// <summary>Gets or sets the trace id of the request span.</summary>
    public required string TraceId
    {
        get => this.traceIdPacked ? Format(this.traceIdHigh, this.traceIdLow) : this.traceId!;
        set
        {
            this.traceId = value;
            this.traceIdPacked = false;
        }
    }

    /// <summary>Gets or sets the span id of the request span.</summary>
    public string? SpanId
    {
        get => this.spanIdPacked ? Format(this.packedSpanId) : this.spanId;
        set
        {
            this.spanId = value;
            this.spanIdPacked = false;
        }
    }

    /// <summary>Gets or sets the start time.</summary>
    public DateTimeOffset StartTime { get; set; }

    /// <summary>Gets or sets the duration in milliseconds.</summary>
    public double DurationMs { get; set; }

    /// <summary>Gets or sets the route template.</summary>
    public required string Route { get; set; }

    /// <summary>Gets or sets the model, as reported.</summary>
    public string? Model { get; set; }

    /// <summary>Gets or sets the provider.</summary>
    public string? Provider { get; set; }

    /// <summary>Gets or sets the conversation id.</summary>
    public string? ConversationId { get; set; }

    /// <summary>Gets or sets the status: <c>ok</c> or <c>error</c>.</summary>
    public required string Status { get; set; }

    /// <summary>Gets or sets the error type, or <c>null</c>.</summary>
    public string? ErrorType { get; set; }

    /// <summary>Gets or sets the error message, or <c>null</c>.</summary>
    public string? ErrorMessage { get; set; }

    /// <summary>Gets or sets the token counts.</summary>
    public LlmTokenCounts Tokens { get; set; }

    /// <summary>Gets or sets the cost in US dollars, or <c>null</c> when <see cref="Unpriced"/>.</summary>
    public decimal? CostUsd { get; set; }

    /// <summary>Gets or sets a value indicating whether a model used has no price.</summary>
    public bool Unpriced { get; set; }

    /// <summary>Gets or sets the steps, in start order.</summary>
    public IReadOnlyList<LlmStepRecord> Steps { get; set; } = [];

    /// <summary>Gets or sets the captured content, or <c>null</c> unless content capture is on.</summary>
    public LlmContentRecord? Content { get; set; }

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

/// <summary>Token counts of a request record. A value, kept inside its record: the history holds thousands of
/// records, and every object fewer per record is less for the garbage collector to trace and promote.</summary>
public record struct LlmTokenCounts
{
    /// <summary>Gets or sets the input tokens.</summary>
    public long Input { get; set; }

    /// <summary>Gets or sets the output tokens.</summary>
    public long Output { get; set; }

    /// <summary>Gets or sets the cached input tokens.</summary>
    public long CachedInput { get; set; }

    /// <summary>Gets or sets the reasoning tokens.</summary>
    public long Reasoning { get; set; }

    /// <summary>Gets the sum of input and output tokens.</summary>
    public readonly long Total => this.Input + this.Output;

    /// <summary>Gets or sets a value indicating whether some counts were estimated.</summary>
    public bool Estimated { get; set; }
}

/// <summary>One step of a request record. A value: a record's steps are one array, not one object per step.</summary>
/// <param name="Name">The step name.</param>
/// <param name="OffsetMs">Milliseconds from the request's start to the step's start.</param>
/// <param name="DurationMs">The step's duration in milliseconds.</param>
/// <param name="Status"><c>ok</c> or <c>error</c>.</param>
/// <param name="ErrorType">The error type, or <c>null</c>.</param>
/// <param name="Depth">0 for a step directly under the request, 1 for a step inside a step, and so on.</param>
public readonly record struct LlmStepRecord(string Name, double OffsetMs, double DurationMs, string Status, string? ErrorType, int Depth);

/// <summary>Captured prompt and completion, after redaction.</summary>
/// <param name="Prompt">The prompt.</param>
/// <param name="Completion">The completion.</param>
public sealed record LlmContentRecord(string? Prompt, string? Completion);
