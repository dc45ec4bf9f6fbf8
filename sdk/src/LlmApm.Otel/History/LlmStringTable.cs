using System.Collections.Concurrent;

namespace LlmApm.Otel.History;

/// <summary>
/// A bounded, append-only table of the strings the history repeats (routes, models, providers, step names, error
/// types), so that a kept record refers to them by a small number instead of holding a string of its own: a model
/// name read from each response is a new string, and thousands of them kept in the ring would be objects for the
/// garbage collector to promote and sweep. When the table is full a new string has no number.
/// </summary>
internal sealed class LlmStringTable
{
    // The first few entries are also found by reference: route templates, step names and error types are usually the
    // same string instances every time, and comparing references is cheaper than hashing.
    private const int ReferenceScan = 16;

    private readonly ConcurrentDictionary<string, short> indexes = new(StringComparer.Ordinal);
    private readonly string[] values;
    private readonly Lock gate = new();
    private int count;

    public LlmStringTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, short.MaxValue);
        this.values = new string[capacity];
    }

    public string this[short index] => this.values[index];

    /// <summary>The number of <paramref name="value"/>, adding it when there is room.</summary>
    /// <param name="value">The string.</param>
    /// <param name="index">Its number, or -1 when the table is full and does not hold it.</param>
    /// <returns>Whether it has a number.</returns>
    public bool TryIndex(string value, out short index)
    {
        var scan = Math.Min(Volatile.Read(ref this.count), ReferenceScan);
        for (var i = 0; i < scan; i++)
        {
            if (ReferenceEquals(this.values[i], value))
            {
                index = (short)i;
                return true;
            }
        }

        if (this.indexes.TryGetValue(value, out index))
        {
            return true;
        }

        lock (this.gate)
        {
            if (this.indexes.TryGetValue(value, out index))
            {
                return true;
            }

            if (this.count == this.values.Length)
            {
                index = -1;
                return false;
            }

            index = (short)this.count;
            this.values[index] = value;
            Volatile.Write(ref this.count, this.count + 1);
            this.indexes[value] = index;
            return true;
        }
    }

    /// <summary>Like <see cref="TryIndex"/>, with -1 for <c>null</c>.</summary>
    /// <param name="value">The string, or <c>null</c>.</param>
    /// <param name="index">Its number, or -1 for <c>null</c>.</param>
    /// <returns>Whether it is <c>null</c> or has a number.</returns>
    public bool TryIndexOrNull(string? value, out short index)
    {
        if (value is null)
        {
            index = -1;
            return true;
        }

        return this.TryIndex(value, out index);
    }

    /// <summary>The string of <paramref name="index"/>, <c>null</c> for -1.</summary>
    /// <param name="index">A number from <see cref="TryIndexOrNull"/>.</param>
    /// <returns>The string.</returns>
    public string? OrNull(short index) => index < 0 ? null : this.values[index];
}
