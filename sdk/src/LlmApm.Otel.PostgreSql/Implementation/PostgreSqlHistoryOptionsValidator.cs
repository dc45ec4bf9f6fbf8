using Microsoft.Extensions.Options;

namespace LlmApm.Otel.PostgreSql.Implementation;

/// <summary>Checks <c>LlmApm:PostgreSql</c> at start-up: a bad value fails the start with the key it names.</summary>
internal sealed class PostgreSqlHistoryOptionsValidator : IValidateOptions<PostgreSqlHistoryOptions>
{
    private const string Section = "LlmApm:PostgreSql:";

    public ValidateOptionsResult Validate(string? name, PostgreSqlHistoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            failures.Add($"The PostgreSQL history needs a connection string: set ConnectionStrings:{PostgreSqlConnection.ConnectionStringName} or {Section}ConnectionString.");
        }
        else if (PostgreSqlConnection.Check(options.ConnectionString) is { } problem)
        {
            failures.Add($"{Section}ConnectionString is not a valid Npgsql connection string: {problem}.");
        }

        Positive(options.FlushInterval, nameof(options.FlushInterval), failures);
        Positive(options.RetryInterval, nameof(options.RetryInterval), failures);
        Positive(options.LivePollInterval, nameof(options.LivePollInterval), failures);
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

        if (options.InstanceId is { Length: > 128 })
        {
            failures.Add($"{Section}InstanceId must be at most 128 characters.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Positive(TimeSpan value, string key, List<string> failures)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{Section}{key} must be positive (for example 00:00:01).");
        }
    }
}
