namespace LlmApm.Otel;

/// <summary>
/// An LLM call refused before it reached the provider because a hard budget has spent its limit for the current
/// window. Classified as <see cref="LlmErrorTypes.BudgetExceeded"/>; an endpoint marked <c>.WithLlmApm()</c> answers it
/// with HTTP 429 and a <c>Retry-After</c> header.
/// </summary>
public sealed class LlmBudgetExceededException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="LlmBudgetExceededException"/> class.</summary>
    public LlmBudgetExceededException()
        : this("The LLM budget is spent.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LlmBudgetExceededException"/> class.</summary>
    /// <param name="message">The message.</param>
    public LlmBudgetExceededException(string message)
        : base(message)
    {
        this.BudgetName = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="LlmBudgetExceededException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public LlmBudgetExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
        this.BudgetName = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="LlmBudgetExceededException"/> class.</summary>
    /// <param name="budgetName">The budget's name.</param>
    /// <param name="key">The tenant, user, route or model the budget counts; <c>null</c> for a global budget.</param>
    /// <param name="limitUsd">The limit in US dollars.</param>
    /// <param name="spentUsd">What the window has spent.</param>
    /// <param name="resetsAt">When the window ends and the budget starts from zero.</param>
    public LlmBudgetExceededException(string budgetName, string? key, decimal limitUsd, decimal spentUsd, DateTimeOffset resetsAt)
        : base(Describe(budgetName, key, limitUsd, spentUsd, resetsAt))
    {
        this.BudgetName = budgetName;
        this.Key = key;
        this.LimitUsd = limitUsd;
        this.SpentUsd = spentUsd;
        this.ResetsAt = resetsAt;
    }

    /// <summary>Gets the name of the budget that refused the call (<c>LlmApm:Budgets:{name}</c>).</summary>
    public string BudgetName { get; }

    /// <summary>Gets the tenant, user, route or model whose limit is spent, or <c>null</c> for a global budget.</summary>
    public string? Key { get; }

    /// <summary>Gets the limit in US dollars.</summary>
    public decimal LimitUsd { get; }

    /// <summary>Gets what the window had spent when the call was refused, in US dollars.</summary>
    public decimal SpentUsd { get; }

    /// <summary>Gets when the window ends: calls are allowed again from then.</summary>
    public DateTimeOffset ResetsAt { get; }

    private static string Describe(string budgetName, string? key, decimal limitUsd, decimal spentUsd, DateTimeOffset resetsAt)
        => FormattableString.Invariant(
            $"The LLM budget '{budgetName}'{(key is null ? string.Empty : $" for '{key}'")} has spent {decimal.Round(spentUsd, 6)} USD of its {limitUsd} USD limit; it resets at {resetsAt:yyyy-MM-ddTHH:mm:ssZ}.");
}
