namespace LlmApm.Otel.History;

/// <summary>Why a history record was not kept: the <c>reason</c> tag of <c>llm_history_dropped_total</c>.</summary>
public enum LlmHistoryDropReason
{
    /// <summary>The store threw when it was given the record (<c>store_failed</c>).</summary>
    StoreFailed,

    /// <summary>The store's write queue was full (<c>queue_full</c>).</summary>
    QueueFull,

    /// <summary>The store could not write the record to its database (<c>write_failed</c>).</summary>
    WriteFailed,
}

/// <summary>For history stores: counts records a store could not keep, in <c>llm_history_dropped_total</c>.</summary>
public static class LlmHistoryDrops
{
    /// <summary>Counts <paramref name="count"/> records that were not kept.</summary>
    /// <param name="count">The number of records.</param>
    /// <param name="reason">Why.</param>
    public static void Count(long count, LlmHistoryDropReason reason)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        LlmApmInstruments.HistoryDropped.Add(count, reason);
    }
}
