using LlmApm.Otel.History;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel;

/// <summary>Builds an instrumentation outside dependency injection.</summary>
internal static class LlmApmInstrumentationFactory
{
    /// <summary>The instrumentation of a chat client used without <c>AddLlmApm()</c>: default options, metrics and
    /// spans, and a small history that nothing serves.</summary>
    public static LlmApmInstrumentation CreateDefault()
    {
        var options = Options.Create(new LlmApmOptions { HistoryCapacity = 100 });
        return new LlmApmInstrumentation(options, new InMemoryLlmHistoryStore(options), new LlmHistoryFeed());
    }
}
