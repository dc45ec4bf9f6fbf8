using System.Globalization;

namespace ChatService.Soak;

/// <summary>The soak's settings: <c>--duration</c> (seconds or <c>hh:mm:ss</c>; env <c>SOAK_DURATION</c>; default
/// 3 minutes), <c>--concurrency</c> (default 8), <c>--service</c> (the built <c>ChatService.dll</c>).</summary>
internal sealed record SoakOptions(TimeSpan Duration, int Concurrency, string Service)
{
    /// <summary>The injected fault rates (5% in all), per <c>Llm:Simulated:Faults</c> type.</summary>
    public static readonly IReadOnlyDictionary<string, double> Faults = new Dictionary<string, double>
    {
        ["rate_limited"] = 0.02,
        ["provider_unavailable"] = 0.015,
        ["network"] = 0.01,
        ["content_filtered"] = 0.005,
    };

    /// <summary>Records the in-memory history keeps: small, so that it is full after the warm-up.</summary>
    public const int HistoryCapacity = 1000;

    public static SoakOptions Parse(string[] args)
    {
        var duration = ParseDuration(Environment.GetEnvironmentVariable("SOAK_DURATION")) ?? TimeSpan.FromMinutes(3);
        var concurrency = 8;
        string? service = null;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--duration":
                    duration = ParseDuration(value) ?? throw new ArgumentException($"--duration: '{value}' is not seconds or hh:mm:ss");
                    i++;
                    break;
                case "--concurrency":
                    concurrency = int.Parse(value ?? "8", CultureInfo.InvariantCulture);
                    i++;
                    break;
                case "--service":
                    service = value;
                    i++;
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}' (--duration, --concurrency, --service)");
            }
        }

        if (duration < TimeSpan.FromSeconds(15) || duration > TimeSpan.FromHours(2) || concurrency is < 1 or > 256)
        {
            throw new ArgumentException("--duration must be 15 s to 2 h, --concurrency 1 to 256");
        }

        return new SoakOptions(duration, concurrency, service ?? FindService());
    }

    private static TimeSpan? ParseDuration(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        value = value.Trim().TrimEnd('s');
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) ? span : null;
    }

    private static string FindService()
    {
        var configuration = typeof(SoakOptions).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>().FirstOrDefault()?.Configuration ?? "Release";
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "LlmApm.Otel.sln")))
        {
            directory = directory.Parent;
        }

        var path = Path.Combine(directory?.FullName ?? ".", "samples", "ChatService", "bin", configuration, "net10.0", "ChatService.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build it (dotnet build samples/ChatService -c {configuration})");
    }
}
