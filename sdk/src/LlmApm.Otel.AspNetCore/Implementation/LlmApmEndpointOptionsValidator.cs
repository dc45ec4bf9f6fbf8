using Microsoft.Extensions.Options;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Checks <see cref="LlmApmEndpointOptions"/> at start-up; each failure names the configuration key to fix.</summary>
internal sealed class LlmApmEndpointOptionsValidator : IValidateOptions<LlmApmEndpointOptions>
{
    private const string Section = LlmApmEndpointOptions.ConfigurationSection;

    public ValidateOptionsResult Validate(string? name, LlmApmEndpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        AbsolutePath(failures, nameof(LlmApmEndpointOptions.ChatEndpoint), options.ChatEndpoint);
        AbsolutePath(failures, nameof(LlmApmEndpointOptions.ChatStreamEndpoint), options.ChatStreamEndpoint);
        AbsolutePath(failures, nameof(LlmApmEndpointOptions.MetricsPath), options.MetricsPath);
        if (options.AccessKey is { } key && string.IsNullOrWhiteSpace(key))
        {
            failures.Add($"{Section}:{nameof(LlmApmEndpointOptions.AccessKey)} must not be blank (leave it unset for loopback clients only).");
        }

        AtLeastOne(failures, nameof(LlmApmEndpointOptions.MaxStreamConnectionsPerClient), options.MaxStreamConnectionsPerClient);
        AtLeastOne(failures, nameof(LlmApmEndpointOptions.MaxStreamConnections), options.MaxStreamConnections);

        Positive(failures, nameof(LlmApmEndpointOptions.StreamKeepAliveInterval), options.StreamKeepAliveInterval);
        Positive(failures, nameof(LlmApmEndpointOptions.StreamWriteTimeout), options.StreamWriteTimeout);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void AbsolutePath(List<string> failures, string option, string? path)
    {
        if (!string.IsNullOrEmpty(path) && (!path.StartsWith('/') || path.StartsWith("//", StringComparison.Ordinal) || path.Any(char.IsWhiteSpace)))
        {
            failures.Add($"{Section}:{option} must be an absolute path such as /api/chat (is '{path}').");
        }
    }

    private static void AtLeastOne(List<string> failures, string option, int value)
    {
        if (value <= 0)
        {
            failures.Add($"{Section}:{option} must be greater than 0 (is {value}).");
        }
    }

    private static void Positive(List<string> failures, string option, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{Section}:{option} must be positive (is {value}).");
        }
    }
}
