using Microsoft.Extensions.Options;

namespace LlmApm.Otel;

/// <summary>Checks <see cref="LlmApmOptions.Budgets"/> at start-up; each failure names the budget and the key to fix.</summary>
internal sealed class LlmBudgetOptionsValidator : IValidateOptions<LlmApmOptions>
{
    private const string Section = LlmApmServices.SectionName + ":" + nameof(LlmApmOptions.Budgets);
    private const int MaxNameLength = 64;

    public ValidateOptionsResult Validate(string? name, LlmApmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var (budget, limit) in options.Budgets)
        {
            var key = $"{Section}:{budget}";
            if (string.IsNullOrEmpty(budget) || budget.Length > MaxNameLength || !budget.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                failures.Add($"{Section} has a budget named '{budget}': a name must be 1 to {MaxNameLength} letters, digits, '_', '-' or '.'.");
                continue;
            }

            if (limit is null)
            {
                failures.Add($"{key} has no settings.");
                continue;
            }

            if (!Enum.IsDefined(limit.Scope))
            {
                failures.Add($"{key}:{nameof(LlmBudgetOptions.Scope)} must be Global, Tenant, User, Route or Model (is '{limit.Scope}').");
            }

            if (!Enum.IsDefined(limit.Period))
            {
                failures.Add($"{key}:{nameof(LlmBudgetOptions.Period)} must be Hour, Day or Month (is '{limit.Period}').");
            }

            if (limit.LimitUsd < 0)
            {
                failures.Add($"{key}:{nameof(LlmBudgetOptions.LimitUsd)} must not be negative (is {limit.LimitUsd}).");
            }

            if (limit.Scope == LlmBudgetScope.Global && limit.Key is not null)
            {
                failures.Add($"{key}:{nameof(LlmBudgetOptions.Key)} must be left out: a global budget counts every call (is '{limit.Key}').");
            }
            else if (limit.Key is not null && !LlmAttribution.IsValidId(limit.Key))
            {
                failures.Add($"{key}:{nameof(LlmBudgetOptions.Key)} must be 1 to 128 characters without control characters.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
