using System.Diagnostics.Tracing;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Self-diagnostics of LlmApm.Otel.AspNetCore (<c>LlmApm-Otel-AspNetCore</c>), read with
/// <c>dotnet-trace</c> or an EventListener. Never carries an access key, a prompt or a request body.</summary>
[EventSource(Name = "LlmApm-Otel-AspNetCore")]
internal sealed class LlmApmAspNetCoreEventSource : EventSource
{
    public static readonly LlmApmAspNetCoreEventSource Log = new();

    [NonEvent]
    public void LlmEndpointFailed(string route, Exception exception)
    {
        if (this.IsEnabled(EventLevel.Informational, EventKeywords.All))
        {
            this.LlmEndpointFailed(route, exception.GetType().FullName ?? "Exception");
        }
    }

    [NonEvent]
    public void StartRequestFailed(string route, Exception exception)
    {
        if (this.IsEnabled(EventLevel.Error, EventKeywords.All))
        {
            this.StartRequestFailed(route, exception.ToString());
        }
    }

    [NonEvent]
    public void StreamFailed(Exception exception)
    {
        if (this.IsEnabled(EventLevel.Warning, EventKeywords.All))
        {
            this.StreamFailed(exception.GetType().FullName ?? "Exception");
        }
    }

    [Event(1, Message = "LLM endpoint '{0}' was called but LlmApmInstrumentation is not registered (call services.AddLlmApm()); the request is not recorded.", Level = EventLevel.Warning)]
    public void InstrumentationMissing(string route) => this.WriteEvent(1, route);

    [Event(2, Message = "LLM endpoint '{0}' threw {1}; the request was recorded as failed and the exception rethrown.", Level = EventLevel.Informational)]
    public void LlmEndpointFailed(string route, string exceptionType) => this.WriteEvent(2, route, exceptionType);

    [Event(3, Message = "Starting the LLM request of '{0}' failed; the endpoint ran without it: {1}", Level = EventLevel.Error)]
    public void StartRequestFailed(string route, string exception) => this.WriteEvent(3, route, exception);

    [Event(4, Message = "A request to '{0}' was denied: {1}.", Level = EventLevel.Warning)]
    public void AccessDenied(string path, string reason) => this.WriteEvent(4, path, reason);

    [Event(5, Message = "A live-stream connection was refused: the client already has {0} open.", Level = EventLevel.Warning)]
    public void StreamLimitReached(int open) => this.WriteEvent(5, open);

    [Event(6, Message = "A live-stream client was disconnected: {0}.", Level = EventLevel.Informational)]
    public void StreamClientDropped(string reason) => this.WriteEvent(6, reason);

    [Event(7, Message = "The live stream failed: {0}.", Level = EventLevel.Warning)]
    public void StreamFailed(string exceptionType) => this.WriteEvent(7, exceptionType);

    [Event(8, Message = "The dashboard was not built into this assembly; the placeholder page is served.", Level = EventLevel.Warning)]
    public void DashboardPlaceholderServed() => this.WriteEvent(8);

    [Event(9, Message = "A live-stream connection was refused: the server already has {0} open (MaxStreamConnections).", Level = EventLevel.Warning)]
    public void StreamServerLimitReached(int open) => this.WriteEvent(9, open);

    [Event(20, Message = "The authenticated user's claim '{0}' is not a valid user or tenant id (1 to 128 characters without control characters); the request is not attributed by it.", Level = EventLevel.Warning)]
    public void AttributionClaimIgnored(string claim) => this.WriteEvent(20, claim);

    [Event(21, Message = "A request to the LLM endpoint '{0}' was refused: {1}", Level = EventLevel.Warning)]
    public void AttributionHeaderRefused(string route, string problem) => this.WriteEvent(21, route, problem);
}
