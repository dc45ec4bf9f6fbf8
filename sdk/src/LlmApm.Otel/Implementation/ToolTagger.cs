using System.Collections.Concurrent;

namespace LlmApm.Otel;

/// <summary>Bounds tool names as metric tags, as <see cref="ModelTagger"/> bounds models: the first
/// <see cref="MaxTools"/> names seen keep their own series, any later one is <c>other</c>.</summary>
internal sealed class ToolTagger
{
    internal const int MaxTools = 64;

    private readonly ConcurrentDictionary<string, string> tags = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> stepNames = new(StringComparer.Ordinal);

    /// <summary>The tag of <paramref name="tool"/>: its name while fewer than <see cref="MaxTools"/> are known, else <c>other</c>.</summary>
    public string Tag(string? tool)
    {
        if (string.IsNullOrEmpty(tool))
        {
            return LlmApmInstruments.UnknownModel;
        }

        if (this.tags.TryGetValue(tool, out var tag))
        {
            return tag;
        }

        // A race may let a few more than MaxTools in: the bound is what matters, not its exact value.
        return this.tags.Count < MaxTools ? this.tags.GetOrAdd(tool, tool) : LlmApmInstruments.OtherModel;
    }

    /// <summary>The step tag of a tool's tag, <c>execute_tool {tag}</c>, made once per tag.</summary>
    public string StepName(string tag)
        => this.stepNames.GetOrAdd(tag, static t => string.Concat(GenAiConventions.ExecuteToolOperation, " ", t));
}
