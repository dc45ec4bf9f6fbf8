using System.Diagnostics.Tracing;

namespace LlmApm.Otel;

/// <summary>Self-diagnostics of LLM-APM (<c>LlmApm-Otel</c>), read with <c>dotnet-trace</c> or an EventListener.</summary>
[EventSource(Name = "LlmApm-Otel")]
internal sealed class LlmApmEventSource : EventSource
{
    public static readonly LlmApmEventSource Log = new();

    [NonEvent]
    public void CallbackFailed(string callback, Exception exception)
    {
        if (this.IsEnabled(EventLevel.Warning, EventKeywords.All))
        {
            this.CallbackFailed(callback, exception.GetType().FullName ?? "Exception");
        }
    }

    [NonEvent]
    public void HistoryFailed(string operation, Exception exception)
    {
        if (this.IsEnabled(EventLevel.Error, EventKeywords.All))
        {
            this.HistoryFailed(operation, exception.ToString());
        }
    }

    [Event(1, Message = "A user callback '{0}' threw {1}; it was ignored.", Level = EventLevel.Warning)]
    public void CallbackFailed(string callback, string exceptionType) => this.WriteEvent(1, callback, exceptionType);

    [Event(2, Message = "The history failed to {0}: {1}", Level = EventLevel.Error)]
    public void HistoryFailed(string operation, string exception) => this.WriteEvent(2, operation, exception);

    [Event(3, Message = "Dropped the buffered steps of {0} requests whose spans did not end in time.", Level = EventLevel.Warning)]
    public void OrphansEvicted(int count) => this.WriteEvent(3, count);

    [Event(4, Message = "A live history subscriber could not keep up and was dropped.", Level = EventLevel.Informational)]
    public void SubscriberDropped() => this.WriteEvent(4);

    [Event(5, Message = "Model '{0}' has no price: its cost is unknown.", Level = EventLevel.Warning)]
    public void PriceMissing(string model) => this.WriteEvent(5, model);

    [Event(6, Message = "A history record was dropped: {0}.", Level = EventLevel.Warning)]
    public void HistoryDropped(string reason) => this.WriteEvent(6, reason);

    [Event(30, Message = "The price file {0} could not be loaded: {1} The last good prices stay in force.", Level = EventLevel.Error)]
    public void PriceFileFailed(string path, string error) => this.WriteEvent(30, path, error);

    [Event(31, Message = "Loaded {1} prices from the price file {0}.", Level = EventLevel.Informational)]
    public void PriceFileLoaded(string path, int entries) => this.WriteEvent(31, path, entries);
}
