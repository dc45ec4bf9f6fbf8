using System.Globalization;
using System.Text.RegularExpressions;

namespace ChatService.Soak;

/// <summary>A Prometheus text exposition: sums of samples by name and labels.</summary>
internal sealed partial class Metrics
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> samples = [];

    public Metrics(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            var match = Sample().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups["k"].Value, m => m.Groups["v"].Value);
            this.samples.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
    }

    public double Sum(string name, params (string Key, string Value)[] labels)
        => this.samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    /// <summary>The first sample whose name starts with <paramref name="prefix"/> (the runtime meter's names vary by
    /// exporter version: <c>dotnet_thread_pool_queue_length</c> or <c>..._total</c>).</summary>
    public double? First(string prefix) => this.samples.FirstOrDefault(s => s.Name.StartsWith(prefix, StringComparison.Ordinal)).Name is null
        ? null
        : this.samples.First(s => s.Name.StartsWith(prefix, StringComparison.Ordinal)).Value;

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>[-+0-9.eEInfa]+)(\s+\d+)?$""")]
    private static partial Regex Sample();

    [GeneratedRegex("""(?<k>[a-zA-Z_][a-zA-Z0-9_]*)="(?<v>(?:[^"\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
