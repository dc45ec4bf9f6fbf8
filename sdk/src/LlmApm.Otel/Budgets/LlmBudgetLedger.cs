using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace LlmApm.Otel;

/// <summary>
/// The spend of every configured budget in its current window, in process: every priced LLM call adds its cost to
/// each budget that counts it (by the request's tenant, user, route and the call's model), and a hard budget at or
/// over its limit refuses calls before they reach the provider. Calls in flight when the limit is crossed finish and
/// count: with N calls in flight the spend can pass the limit by at most N calls' cost. Seeded from the history and,
/// with a shared ledger (PostgreSQL), kept in step with the other replicas by <see cref="LlmBudgetSync"/>.
/// </summary>
internal sealed class LlmBudgetLedger : IDisposable
{
    /// <summary>The most keys of one budget that <see cref="Snapshot"/> lists.</summary>
    internal const int MaxKeysListed = 20;

    private static readonly ConcurrentDictionary<LlmBudgetLedger, byte> Live = new();
    private static readonly Lazy<ObservableGauge<double>> Gauge = new(() => LlmApmInstruments.Meter.CreateObservableGauge(
        LlmApmTelemetry.Metrics.BudgetSpentRatio,
        ObserveAll,
        unit: null,
        "What each budget has spent in its current window over its limit (1 = the limit); a budget per tenant, user, route or model reports its highest key."));

    private readonly TimeProvider time;
    private readonly LlmBudget[] hard;
    private readonly KeyValuePair<string, object?>[][] tags;
    private readonly SemaphoreSlim added = new(0, 1);
    private decimal maxUnsynced;

    public LlmBudgetLedger(IEnumerable<KeyValuePair<string, LlmBudgetOptions>> budgets, TimeProvider? time = null)
    {
        this.time = time ?? TimeProvider.System;
        this.Budgets = [.. budgets.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => new LlmBudget(b.Key, b.Value))];
        this.hard = [.. this.Budgets.Where(b => b.Hard)];
        this.tags = [.. this.Budgets.Select(b => new[] { new KeyValuePair<string, object?>(LlmApmTelemetry.Attributes.TagBudget, b.Name) })];
        this.StartedAt = this.time.GetUtcNow();
        _ = Gauge.Value;
        Live.TryAdd(this, 0);
    }

    public IReadOnlyList<LlmBudget> Budgets { get; }

    /// <summary>Gets when the ledger started counting: the history is read up to this time to seed it.</summary>
    public DateTimeOffset StartedAt { get; }

    public DateTimeOffset Now => this.time.GetUtcNow();

    /// <summary>Gets or sets a value indicating whether a shared ledger takes this process's spend: each add then wakes
    /// the sync, which sends it at once rather than at the next refresh.</summary>
    internal bool Shared { get; set; }

    /// <summary>Waits until something was added since the last wait (only while <see cref="Shared"/>).</summary>
    internal Task WaitForAddAsync(CancellationToken cancellationToken) => this.added.WaitAsync(cancellationToken);

    /// <summary>Gets the most spend this process added between two sends to the shared ledger: what the other replicas
    /// could not see, at most, when they checked their budgets.</summary>
    internal decimal MaxUnsyncedUsd
    {
        get
        {
            lock (this.Budgets)
            {
                return this.maxUnsynced;
            }
        }
    }

    /// <summary>Refuses a call that a hard budget at or over its limit counts, before it reaches the provider. The
    /// refusal is the request's failure (<c>budget_exceeded</c>).</summary>
    /// <exception cref="LlmBudgetExceededException">A hard budget is spent.</exception>
    public void ThrowIfExceeded(LlmRequest? request, string? model)
    {
        if (this.hard.Length == 0)
        {
            return;
        }

        var now = this.time.GetUtcNow();
        foreach (var budget in this.hard)
        {
            if (budget.KeyOf(request?.TenantId, request?.UserId, request?.Route, model) is not { } key)
            {
                continue;
            }

            var window = budget.WindowOf(now);
            var spent = budget.SpentOf(key, window);
            if (spent >= budget.LimitUsd)
            {
                var refused = new LlmBudgetExceededException(
                    budget.Name, key.Length == 0 ? null : key, budget.LimitUsd, spent, budget.EndOf(window));
                request?.Fail(refused);
                throw refused;
            }
        }
    }

    /// <summary>Adds a call's cost to every budget that counts it.</summary>
    public void Add(LlmRequest? request, string? model, decimal cost)
    {
        if (cost <= 0)
        {
            return;
        }

        var now = this.time.GetUtcNow();
        foreach (var budget in this.Budgets)
        {
            if (budget.KeyOf(request?.TenantId, request?.UserId, request?.Route, model) is { } key)
            {
                var window = budget.WindowOf(now);
                while (!budget.Cells.GetOrAdd(key, static _ => new LlmBudgetCell()).Add(window, cost))
                {
                    // Pruned between the lookup and the add: the next lookup makes a new cell.
                }
            }
        }

        if (this.Shared && this.added.CurrentCount == 0)
        {
            try
            {
                this.added.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another add woke the sync first.
            }
        }
    }

    /// <summary>Takes what every cell added since the last take, for the shared ledger.</summary>
    public List<(LlmBudget Budget, string Key, DateTimeOffset Window, decimal Amount)> TakePending()
    {
        var taken = new List<(LlmBudget, string, DateTimeOffset, decimal)>();
        var amounts = new List<(DateTimeOffset Window, decimal Amount)>();
        decimal total = 0;
        foreach (var budget in this.Budgets)
        {
            foreach (var (key, cell) in budget.Cells)
            {
                amounts.Clear();
                cell.TakePending(amounts);
                foreach (var (window, amount) in amounts)
                {
                    taken.Add((budget, key, window, amount));
                    total += amount;
                }
            }
        }

        lock (this.Budgets)
        {
            this.maxUnsynced = Math.Max(this.maxUnsynced, total);
        }

        return taken;
    }

    /// <summary>Forgets the keys of past windows that have nothing left to send, so that a budget per user does not
    /// keep every user it ever saw.</summary>
    public void Prune()
    {
        var now = this.time.GetUtcNow();
        foreach (var budget in this.Budgets)
        {
            var window = budget.WindowOf(now);
            foreach (var (key, cell) in budget.Cells)
            {
                lock (cell.Gate)
                {
                    if (cell.IsStale(window))
                    {
                        cell.Removed = true;
                        budget.Cells.TryRemove(key, out _);
                    }
                }
            }
        }
    }

    /// <summary>The spend of every budget: one entry per budget and key, a budget per each value listing its keys by
    /// ratio, highest first, at most <see cref="MaxKeysListed"/> (or one entry without a key when none has spent).</summary>
    public IReadOnlyList<LlmBudgetStatus> Snapshot()
    {
        var now = this.time.GetUtcNow();
        var list = new List<LlmBudgetStatus>();
        foreach (var budget in this.Budgets)
        {
            var window = budget.WindowOf(now);
            var resets = budget.EndOf(window);
            if (!budget.PerEach)
            {
                var spent = budget.SpentOf(budget.Key ?? LlmBudget.GlobalKey, window);
                list.Add(new LlmBudgetStatus(budget, budget.Key, spent, budget.RatioOf(spent), resets));
                continue;
            }

            var keys = budget.Cells
                .Select(c => (c.Key, Spent: c.Value.SpentIn(window)))
                .Where(c => c.Spent > 0)
                .OrderByDescending(c => c.Spent).ThenBy(c => c.Key, StringComparer.Ordinal)
                .Take(MaxKeysListed)
                .Select(c => new LlmBudgetStatus(budget, c.Key, c.Spent, budget.RatioOf(c.Spent), resets))
                .ToList();
            list.AddRange(keys.Count > 0 ? keys : [new LlmBudgetStatus(budget, null, 0, budget.RatioOf(0), resets)]);
        }

        return list;
    }

    public void Dispose()
    {
        Live.TryRemove(this, out _);
        this.added.Dispose();
    }

    private static IEnumerable<Measurement<double>> ObserveAll()
    {
        foreach (var (ledger, _) in Live)
        {
            var now = ledger.time.GetUtcNow();
            for (var i = 0; i < ledger.Budgets.Count; i++)
            {
                yield return new Measurement<double>(ledger.Budgets[i].MaxRatio(now), ledger.tags[i]);
            }
        }
    }
}

/// <summary>The spend of one budget and key in its current window.</summary>
internal sealed record LlmBudgetStatus(LlmBudget Budget, string? Key, decimal SpentUsd, double Ratio, DateTimeOffset ResetsAt);
