using System.Diagnostics.Tracing;

namespace LlmApm.Otel.PostgreSql.Implementation;

/// <summary>Self-diagnostics of the PostgreSQL history (<c>LlmApm-PostgreSql</c>), read with <c>dotnet-trace</c> or
/// an EventListener. The log carries the same facts for operators; this is for hosts without a logger.</summary>
[EventSource(Name = "LlmApm-PostgreSql")]
internal sealed class PostgreSqlHistoryEventSource : EventSource
{
    public static readonly PostgreSqlHistoryEventSource Log = new();

    [NonEvent]
    public void Failing(string database, string reason)
    {
        if (this.IsEnabled(EventLevel.Error, EventKeywords.All))
        {
            this.DatabaseFailing(database, reason);
        }
    }

    [NonEvent]
    public void Resumed(string database)
    {
        if (this.IsEnabled(EventLevel.Informational, EventKeywords.All))
        {
            this.WritesResumed(database);
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
    public void Skipped(long seq, string replica, string problem)
    {
        if (this.IsEnabled(EventLevel.Warning, EventKeywords.All))
        {
            this.RowSkipped(seq.ToString(System.Globalization.CultureInfo.InvariantCulture), replica, problem);
        }
    }

    [Event(1, Message = "The history database '{0}' cannot be used: {1}", Level = EventLevel.Error)]
    public void DatabaseFailing(string database, string reason) => this.WriteEvent(1, database, reason);

    [Event(2, Message = "Writes to the history database '{0}' work again.", Level = EventLevel.Informational)]
    public void WritesResumed(string database) => this.WriteEvent(2, database);

    [Event(3, Message = "A history record was dropped: the PostgreSQL write queue is full.", Level = EventLevel.Warning)]
    public void RecordDropped() => this.WriteEvent(3);

    [Event(4, Message = "History row {0} of replica '{1}' cannot be read ({2}: its steps or properties are not valid JSON) and is skipped.", Level = EventLevel.Warning)]
    public void RowSkipped(string seq, string replica, string problem) => this.WriteEvent(4, seq, replica, problem);
}
