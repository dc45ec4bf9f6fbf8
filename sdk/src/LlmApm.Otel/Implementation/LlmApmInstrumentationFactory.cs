using LlmApm.Otel.History;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel;

/// <summary>Builds an instrumentation outside dependency injection.</summary>
internal static class LlmApmInstrumentationFactory
{
    /// <summary>The instrumentation of a chat client used without <c>AddLlmApm()</c>: default options, metrics, and
    /// spans for whichever tracer provider listens to the <c>LlmApm</c> source. It adds no listener of its own (the
    /// process is the user's) and keeps no history: nothing would serve it.</summary>
    public static LlmApmInstrumentation CreateDefault()
    {
        var options = Options.Create(new LlmApmOptions { HistoryCapacity = 1 });
        return new LlmApmInstrumentation(options, new InMemoryLlmHistoryStore(options), new LlmHistoryFeed(), listen: false);
    }
}
