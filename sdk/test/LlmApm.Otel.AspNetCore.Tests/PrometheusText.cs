using System.Globalization;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>Reads sample values out of a Prometheus text exposition.</summary>
internal static class PrometheusText
{
    /// <summary>The value of the one sample of <paramref name="series"/> whose labels contain every one of
    /// <paramref name="labels"/> (<c>name="value"</c>).</summary>
    public static double Value(string exposition, string series, params string[] labels)
    {
        var matches = exposition.Split('\n')
            .Where(line => line.StartsWith(series + "{", StringComparison.Ordinal) || line.StartsWith(series + " ", StringComparison.Ordinal))
            .Where(line => labels.All(label => line.Contains(label, StringComparison.Ordinal)))
            .ToList();
        Assert.True(matches.Count == 1, $"Expected one sample of {series} with {string.Join(",", labels)}, found {matches.Count}:\n{exposition}");
        var line = matches[0];
        var afterLabels = line.Contains('}', StringComparison.Ordinal) ? line[(line.LastIndexOf('}') + 1)..] : line[series.Length..];
        var value = afterLabels.Trim().Split(' ')[0];
        return double.Parse(value, CultureInfo.InvariantCulture);
    }
}
