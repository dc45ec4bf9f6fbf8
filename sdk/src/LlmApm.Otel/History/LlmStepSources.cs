using System.Collections.Concurrent;
using System.Diagnostics;

namespace LlmApm.Otel.History;

/// <summary>
/// Which other activity sources' spans the history keeps as steps, and of which kind (<see cref="LlmApmOptions.StepSources"/>).
/// The answer is cached per source: the processor asks for every span the provider ends.
/// </summary>
internal sealed class LlmStepSources
{
    private const int MaxNameLength = 128;
    private const int MaxCachedSources = 1024;
    private readonly Dictionary<string, string> exact = new(StringComparer.Ordinal);
    private readonly List<KeyValuePair<string, string>> prefixes = [];
    private readonly ConcurrentDictionary<ActivitySource, string?> cache = new();
    private readonly Func<ActivitySource, string?> resolve;

    public LlmStepSources(IEnumerable<KeyValuePair<string, string>> sources)
    {
        foreach (var (name, kind) in sources)
        {
            if (string.IsNullOrEmpty(kind) || string.IsNullOrEmpty(name))
            {
                continue;
            }

            if (name.EndsWith('*'))
            {
                this.prefixes.Add(new(name[..^1], kind));
            }
            else
            {
                this.exact[name] = kind;
            }
        }

        // The longest prefix wins, so that a narrower pattern can override a wider one.
        this.prefixes.Sort(static (a, b) => b.Key.Length.CompareTo(a.Key.Length));
        this.resolve = this.Resolve;
    }

    /// <summary>Whether <paramref name="kind"/> can be a step kind: short, of letters, digits, <c>_</c> and <c>-</c>.</summary>
    public static bool IsValidKind(string kind)
        => kind.Length is > 0 and <= 32 && kind.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    /// <summary>The kind of the steps of <paramref name="source"/>, or <c>null</c> when its spans are not kept.</summary>
    public string? KindOf(ActivitySource source)
    {
        if (this.exact.Count == 0 && this.prefixes.Count == 0)
        {
            return null;
        }

        // A host that makes sources on the fly must not grow the cache without bound: past it, each span resolves.
        return this.cache.TryGetValue(source, out var kind) ? kind
            : this.cache.Count < MaxCachedSources ? this.cache.GetOrAdd(source, this.resolve)
            : this.Resolve(source);
    }

    /// <summary>The step of a span of a kept source: its GenAI operation's kind if it has one, else the source's.</summary>
    public static LlmStepRecord Step(Activity span, string sourceKind, double offsetMs, int depth)
    {
        var kind = LlmStepKinds.FromOperation(span.GetTagItem(GenAiConventions.OperationName) as string);
        if (kind == LlmStepKinds.Step)
        {
            kind = sourceKind;
        }
        return new LlmStepRecord(
            Name(span, kind),
            offsetMs,
            span.Duration.TotalMilliseconds,
            span.Status == ActivityStatusCode.Error ? "error" : "ok",
            span.GetTagItem(GenAiConventions.ErrorType) as string,
            depth,
            kind);
    }

    /// <summary>The span's name, with the server for an HTTP client span (its name is only the method). Never the URL:
    /// its path and query may hold ids or secrets.</summary>
    private static string Name(Activity span, string kind)
    {
        var name = span.DisplayName;
        if (kind == "http" && span.GetTagItem("server.address") is string server && !name.Contains(server, StringComparison.Ordinal))
        {
            name = $"{name} {server}";
        }

        return name.Length <= MaxNameLength ? name : name[..MaxNameLength];
    }

    private string? Resolve(ActivitySource source)
    {
        if (this.exact.TryGetValue(source.Name, out var kind))
        {
            return kind;
        }

        foreach (var (prefix, prefixKind) in this.prefixes)
        {
            if (source.Name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return prefixKind;
            }
        }

        return null;
    }
}
