using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Sqlite.Implementation;

/// <summary>Checks <c>LlmApm:Sqlite</c> at start-up: a bad value fails the start with the key it names.</summary>
internal sealed class SqliteHistoryOptionsValidator : IValidateOptions<SqliteHistoryOptions>
{
    private const string Section = "LlmApm:Sqlite:";

    public ValidateOptionsResult Validate(string? name, SqliteHistoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Path))
        {
            failures.Add($"{Section}Path must name a file.");
        }

        Positive(options.OpenTimeout, nameof(options.OpenTimeout), failures);
        Positive(options.FlushInterval, nameof(options.FlushInterval), failures);
        Positive(options.RetentionAge, nameof(options.RetentionAge), failures);
        if (options.BatchSize < 1)
        {
            failures.Add($"{Section}BatchSize must be at least 1.");
        }

        if (options.QueueCapacity < 1)
        {
            failures.Add($"{Section}QueueCapacity must be at least 1.");
        }

        if (options.RetentionCount < 1)
        {
            failures.Add($"{Section}RetentionCount must be at least 1.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Positive(TimeSpan value, string key, List<string> failures)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{Section}{key} must be positive (for example 00:00:05).");
        }
    }
}
