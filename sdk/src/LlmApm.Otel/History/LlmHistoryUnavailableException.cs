namespace LlmApm.Otel.History;

/// <summary>Thrown by a history store when it cannot answer a read (its database is damaged or cannot be reached). The
/// history API answers it with 503 problem details; the service itself keeps running.</summary>
public sealed class LlmHistoryUnavailableException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="LlmHistoryUnavailableException"/> class.</summary>
    public LlmHistoryUnavailableException()
        : this("The request history is unavailable.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LlmHistoryUnavailableException"/> class.</summary>
    /// <param name="message">What is wrong, for an operator; shown to clients of the history API.</param>
    public LlmHistoryUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LlmHistoryUnavailableException"/> class.</summary>
    /// <param name="message">What is wrong, for an operator; shown to clients of the history API.</param>
    /// <param name="innerException">The store's error.</param>
    public LlmHistoryUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
