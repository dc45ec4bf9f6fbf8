namespace LlmApm.Otel;

/// <summary>A ledger of budget spend shared by the replicas of a service (the PostgreSQL package's): each replica adds
/// its spend to it and reads every replica's totals every <see cref="RefreshInterval"/>.</summary>
internal abstract class LlmBudgetSharedStore
{
    /// <summary>Gets how often a replica sends its spend and reads the others': it can miss, at most, what the other
    /// replicas spent in one interval.</summary>
    public abstract TimeSpan RefreshInterval { get; }

    /// <summary>Adds <paramref name="amount"/> to a budget key's window atomically and returns the new total.</summary>
    public abstract Task<decimal> AddAsync(string budget, string key, DateTimeOffset window, decimal amount, CancellationToken cancellationToken);

    /// <summary>Adds the history's spend of a budget's window by key, unless another replica seeded that window already.</summary>
    public abstract Task SeedAsync(string budget, DateTimeOffset window, IReadOnlyList<(string Key, decimal SpentUsd)> spent, CancellationToken cancellationToken);

    /// <summary>Reads every key's total of the given budgets' windows.</summary>
    public abstract Task<IReadOnlyList<(string Budget, string Key, DateTimeOffset Window, decimal SpentUsd)>> ReadAsync(
        IReadOnlyList<(string Budget, DateTimeOffset Window)> windows, CancellationToken cancellationToken);
}
