namespace LlmApm.Otel;

/// <summary>One budget: a limit in US dollars on what LLM calls spend in a UTC calendar window, for everything
/// (<see cref="LlmBudgetScope.Global"/>) or by tenant, user, route or model. Configuration:
/// <c>LlmApm:Budgets:{name}:Scope</c>, <c>Key</c>, <c>LimitUsd</c>, <c>Period</c>, <c>Hard</c>.</summary>
public sealed class LlmBudgetOptions
{
    /// <summary>Gets or sets what the budget counts. Default: <see cref="LlmBudgetScope.Global"/>.</summary>
    public LlmBudgetScope Scope { get; set; }

    /// <summary>Gets or sets the one tenant, user, route or model the budget counts. Default: <c>null</c>, which gives
    /// each value of the scope a limit of its own. A global budget has no key.</summary>
    public string? Key { get; set; }

    /// <summary>Gets or sets the limit in US dollars per window. Default: 0, which refuses every call of a hard budget.</summary>
    public decimal LimitUsd { get; set; }

    /// <summary>Gets or sets the window: a UTC calendar hour, day or month. Default: <see cref="LlmBudgetPeriod.Day"/>.</summary>
    public LlmBudgetPeriod Period { get; set; } = LlmBudgetPeriod.Day;

    /// <summary>Gets or sets a value indicating whether the limit refuses calls (a hard limit) rather than only raising
    /// <c>llm.budget.spent_ratio</c> (a soft limit). Default: <c>false</c>.</summary>
    public bool Hard { get; set; }
}
