using System.Diagnostics.Tracing;

namespace LlmApm.Otel.Sqlite.Implementation;

/// <summary>Self-diagnostics of the SQLite history (<c>LlmApm-Sqlite</c>), read with <c>dotnet-trace</c> or an
/// EventListener. The log carries the same facts for operators; this is for hosts without a logger.</summary>
[EventSource(Name = "LlmApm-Sqlite")]
internal sealed class SqliteHistoryEventSource : EventSource
{
    public static readonly SqliteHistoryEventSource Log = new();

    [NonEvent]
    public void Unavailable(string path, string reason)
    {
        if (this.IsEnabled(EventLevel.Error, EventKeywords.All))
        {
            this.DatabaseUnavailable(path, reason);
        }
    }

    [NonEvent]
    public void Dropping(string path, string reason)
    {
        if (this.IsEnabled(EventLevel.Error, EventKeywords.All))
        {
            this.WritesFailing(path, reason);
        }
    }

    [NonEvent]
    public void Resumed(string path, long dropped)
    {
        if (this.IsEnabled(EventLevel.Informational, EventKeywords.All))
        {
            this.WritesResumed(path, dropped);
        }
    }

    [NonEvent]
    public void QueueFull()
    {
        if (this.IsEnabled(EventLevel.Warning, EventKeywords.All))
        {
            this.RecordDropped();
        }
    }

    [NonEvent]
    public void Skipped(long seq, string exceptionType)
    {
        if (this.IsEnabled(EventLevel.Warning, EventKeywords.All))
        {
            this.RowSkipped(seq, exceptionType);
        }
    }

    [Event(1, Message = "The history database '{0}' is unavailable: {1}", Level = EventLevel.Error)]
    public void DatabaseUnavailable(string path, string reason) => this.WriteEvent(1, path, reason);

    [Event(2, Message = "Writes to the history database '{0}' fail, records are dropped: {1}", Level = EventLevel.Error)]
    public void WritesFailing(string path, string reason) => this.WriteEvent(2, path, reason);

    [Event(3, Message = "Writes to the history database '{0}' work again; {1} records were dropped.", Level = EventLevel.Informational)]
    public void WritesResumed(string path, long dropped) => this.WriteEvent(3, path, dropped);

    [Event(4, Message = "A history record was dropped: the SQLite write queue is full.", Level = EventLevel.Warning)]
    public void RecordDropped() => this.WriteEvent(4);

    [Event(5, Message = "A row of the history database cannot be read and is skipped: seq {0}, {1}.", Level = EventLevel.Warning)]
    public void RowSkipped(long seq, string exceptionType) => this.WriteEvent(5, seq, exceptionType);
}
