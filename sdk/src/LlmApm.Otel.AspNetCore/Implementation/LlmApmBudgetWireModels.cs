namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>The body of <c>api/budgets</c>.</summary>
internal sealed record LlmApmBudgets(IReadOnlyList<LlmApmWireBudget> Budgets);

/// <summary>One budget and key in its current window. <c>scope</c> is <c>global</c>, <c>tenant</c>, <c>user</c>,
/// <c>route</c> or <c>model</c>; <c>period</c> is <c>hour</c>, <c>day</c> or <c>month</c>; <c>key</c> is <c>null</c>
/// for a global budget, and for a budget per each value while no value has spent; <c>ratio</c> is spent over the limit.</summary>
internal sealed record LlmApmWireBudget(
    string Name,
    string Scope,
    string? Key,
    string Period,
    decimal LimitUsd,
    decimal SpentUsd,
    double Ratio,
    bool Hard,
    DateTimeOffset ResetsAt)
{
    public static LlmApmWireBudget From(LlmBudgetStatus status)
        => new(
            status.Budget.Name,
            status.Budget.ScopeName,
            status.Key,
            status.Budget.PeriodName,
            status.Budget.LimitUsd,
            status.SpentUsd,
            status.Ratio,
            status.Budget.Hard,
            status.ResetsAt);
}
