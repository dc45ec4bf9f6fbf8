using System.Text.RegularExpressions;

namespace LlmApm.Otel;

/// <summary>Redaction of captured prompts and completions.</summary>
public static partial class LlmContentRedactor
{
    /// <summary>The mask that replaces redacted text.</summary>
    public const string Mask = "[REDACTED]";

    /// <summary>Gets the default redaction: e-mail addresses and API-key-like strings are replaced by <see cref="Mask"/>.</summary>
    public static Func<string, string> Default { get; } = RedactDefaults;

    /// <summary>Builds a redactor that applies the defaults and then masks every match of <paramref name="patterns"/>.</summary>
    /// <param name="patterns">The host's own patterns.</param>
    /// <returns>The redactor.</returns>
    public static Func<string, string> WithPatterns(params Regex[] patterns)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        return text =>
        {
            var result = RedactDefaults(text);
            foreach (var pattern in patterns)
            {
                result = pattern.Replace(result, Mask);
            }

            return result;
        };
    }

    private static string RedactDefaults(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        var result = Email().Replace(text, Mask);
        return ApiKey().Replace(result, Mask);
    }

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex Email();

    // Provider keys (sk-..., sk-proj-...), bearer tokens, AWS access keys, and long hex or base64 secrets.
    [GeneratedRegex(@"\b(sk-[A-Za-z0-9_\-]{16,}|(?:Bearer|bearer)\s+[A-Za-z0-9._\-]{16,}|AKIA[0-9A-Z]{16}|[A-Fa-f0-9]{32,}|[A-Za-z0-9+/_\-]{40,}={0,2})", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 200)]
    private static partial Regex ApiKey();
}
