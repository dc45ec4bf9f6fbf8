namespace LlmApm.Otel;

/// <summary>The bounds of who a request is for: a user, a tenant and custom properties. They keep spans, history rows
/// and the history API's filters small whatever the host passes.</summary>
internal static class LlmAttribution
{
    /// <summary>The longest user or tenant id.</summary>
    public const int MaxIdLength = 128;

    /// <summary>The most custom properties one request has.</summary>
    public const int MaxProperties = 16;

    /// <summary>The longest property key.</summary>
    public const int MaxKeyLength = 64;

    /// <summary>The longest property value.</summary>
    public const int MaxValueLength = 256;

    public static readonly IReadOnlyDictionary<string, string> NoProperties = new Dictionary<string, string>(0, StringComparer.Ordinal);

    /// <summary>Whether <paramref name="value"/> may be a user or tenant id.</summary>
    public static bool IsValidId(string value)
        => value.Length is > 0 and <= MaxIdLength && !value.AsSpan().ContainsAnyInRange('\0', '\u001f') && !value.Contains('\u007f', StringComparison.Ordinal);

    /// <summary>Whether <paramref name="key"/> may be a property key.</summary>
    public static bool IsValidKey(string key)
    {
        if (key.Length is 0 or > MaxKeyLength)
        {
            return false;
        }

        foreach (var c in key)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="value"/> may be a property value.</summary>
    public static bool IsValidValue(string value)
        => value.Length <= MaxValueLength && !value.AsSpan().ContainsAnyInRange('\0', '\u001f') && !value.Contains('\u007f', StringComparison.Ordinal);

    public static void ThrowIfInvalidId(string? value, string name)
    {
        if (value is not null && !IsValidId(value))
        {
            throw new ArgumentException($"An id is 1 to {MaxIdLength} characters without control characters.", name);
        }
    }

    public static void ThrowIfInvalidProperty(string key, string? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!IsValidKey(key))
        {
            throw new ArgumentException($"A property key is 1 to {MaxKeyLength} letters, digits, '_', '-' or '.'.", nameof(key));
        }

        if (value is not null && !IsValidValue(value))
        {
            throw new ArgumentException($"A property value is at most {MaxValueLength} characters without control characters.", nameof(value));
        }
    }
}
