using System.Collections.Concurrent;

namespace LlmApm.Otel;

/// <summary>A configured budget and its spend by key in the current window (<see cref="LlmBudgetCell"/>). A global
/// budget keeps its spend under the empty key.</summary>
internal sealed class LlmBudget
{
    internal const string GlobalKey = "";

    public LlmBudget(string name, LlmBudgetOptions options)
    {
        this.Name = name;
        this.Scope = options.Scope;
        this.Key = options.Scope == LlmBudgetScope.Global ? null : options.Key;
        this.LimitUsd = options.LimitUsd;
        this.Period = options.Period;
        this.Hard = options.Hard;
    }

    public string Name { get; }

    public LlmBudgetScope Scope { get; }

    /// <summary>Gets the one value the budget counts, or <c>null</c> when each value has its own limit (or it is global).</summary>
    public string? Key { get; }

    public decimal LimitUsd { get; }

    public LlmBudgetPeriod Period { get; }

    public bool Hard { get; }

    /// <summary>Gets a value indicating whether each value of the scope has a limit of its own.</summary>
    public bool PerEach => this.Scope != LlmBudgetScope.Global && this.Key is null;

    public ConcurrentDictionary<string, LlmBudgetCell> Cells { get; } = new(StringComparer.Ordinal);

    public string ScopeName => this.Scope switch
    {
        LlmBudgetScope.Tenant => "tenant",
        LlmBudgetScope.User => "user",
        LlmBudgetScope.Route => "route",
        LlmBudgetScope.Model => "model",
        _ => "global",
    };

    public string PeriodName => this.Period switch
    {
        LlmBudgetPeriod.Hour => "hour",
        LlmBudgetPeriod.Month => "month",
        _ => "day",
    };

    /// <summary>The key a call counts under, or <c>null</c> when the budget does not count it.</summary>
    public string? KeyOf(string? tenant, string? user, string? route, string? model)
    {
        var value = this.Scope switch
        {
            LlmBudgetScope.Global => GlobalKey,
            LlmBudgetScope.Tenant => tenant,
            LlmBudgetScope.User => user,
            LlmBudgetScope.Route => route,
            _ => model,
        };
        return value is null || (this.Key is not null && !string.Equals(this.Key, value, StringComparison.Ordinal)) ? null : value;
    }

    /// <summary>The start of the UTC calendar window that holds <paramref name="now"/>.</summary>
    public DateTimeOffset WindowOf(DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        return this.Period switch
        {
            LlmBudgetPeriod.Hour => new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero),
            LlmBudgetPeriod.Month => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
        };
    }

    /// <summary>The end of the window that starts at <paramref name="window"/>: when the budget resets.</summary>
    public DateTimeOffset EndOf(DateTimeOffset window) => this.Period switch
    {
        LlmBudgetPeriod.Hour => window.AddHours(1),
        LlmBudgetPeriod.Month => window.AddMonths(1),
        _ => window.AddDays(1),
    };

    /// <summary>The spend of a value in the window, or 0 when it has none.</summary>
    public decimal SpentOf(string key, DateTimeOffset window)
        => this.Cells.TryGetValue(key, out var cell) ? cell.SpentIn(window) : 0m;

    /// <summary>Adds spend already kept by the history (seeding at start-up).</summary>
    public void Seed(string key, DateTimeOffset window, decimal amount)
        => this.Cells.GetOrAdd(key, static _ => new LlmBudgetCell()).Seed(window, amount);

    /// <summary>Puts back an amount that could not be sent to the shared ledger.</summary>
    public void Restore(string key, DateTimeOffset window, decimal amount)
    {
        while (!this.Cells.GetOrAdd(key, static _ => new LlmBudgetCell()).Restore(window, amount))
        {
            // Pruned meanwhile: the next lookup makes a new cell.
        }
    }

    /// <summary>Sets the spend of a key to the total of every replica for a window.</summary>
    public void ApplyShared(string key, DateTimeOffset window, decimal total)
        => this.Cells.GetOrAdd(key, static _ => new LlmBudgetCell()).ApplyShared(window, total);

    /// <summary>The highest ratio of the budget's keys in the current window.</summary>
    public double MaxRatio(DateTimeOffset now)
    {
        var window = this.WindowOf(now);
        decimal max = 0;
        foreach (var (_, cell) in this.Cells)
        {
            max = Math.Max(max, cell.SpentIn(window));
        }

        return this.RatioOf(max);
    }

    /// <summary>Spent over the limit; a zero limit is always at it (1), so that alerts on the limit fire for it.</summary>
    public double RatioOf(decimal spent) => this.LimitUsd <= 0 ? 1 : (double)(spent / this.LimitUsd);
}

/// <summary>The spend of one budget and key in its current window: what this process added, plus what the other
/// replicas added when a shared ledger reports it. Guarded by its own lock, which allocates nothing.</summary>
internal sealed class LlmBudgetCell
{
    private readonly Lock gate = new();
    private DateTimeOffset window;
    private decimal spent;
    private decimal pending;
    private List<(DateTimeOffset Window, decimal Amount)>? carried;

    /// <summary>Gets or sets a value indicating whether the cell was pruned: an add that finds it so retries on a new one.</summary>
    public bool Removed { get; set; }

    public Lock Gate => this.gate;

    /// <summary>Adds to the window of <paramref name="window"/>; <c>false</c> when the cell was pruned.</summary>
    public bool Add(DateTimeOffset window, decimal amount)
    {
        lock (this.gate)
        {
            if (this.Removed)
            {
                return false;
            }

            // A call that began just before the window turned counts in the new window: never lost, at worst early.
            this.Roll(window);
            this.spent += amount;
            this.pending += amount;
            return true;
        }
    }

    /// <summary>Adds spend that is already durable (seeded from the history): never sent to a shared ledger.</summary>
    public void Seed(DateTimeOffset window, decimal amount)
    {
        lock (this.gate)
        {
            this.Roll(window);
            if (this.window == window)
            {
                this.spent += amount;
            }
        }
    }

    public decimal SpentIn(DateTimeOffset window)
    {
        lock (this.gate)
        {
            return this.window == window ? this.spent : 0m;
        }
    }

    /// <summary>Takes what was added since the last take, for a shared ledger; past windows' amounts included.</summary>
    public void TakePending(List<(DateTimeOffset Window, decimal Amount)> into)
    {
        lock (this.gate)
        {
            if (this.carried is { } old)
            {
                into.AddRange(old);
                this.carried = null;
            }

            if (this.pending != 0)
            {
                into.Add((this.window, this.pending));
                this.pending = 0;
            }
        }
    }

    /// <summary>Puts back an amount taken for the shared ledger that could not be sent.</summary>
    public bool Restore(DateTimeOffset window, decimal amount)
    {
        lock (this.gate)
        {
            if (this.Removed)
            {
                return false;
            }

            if (window == this.window)
            {
                this.pending += amount;
            }
            else
            {
                (this.carried ??= []).Add((window, amount));
            }

            return true;
        }
    }

    /// <summary>Takes the total of every replica for a window: the spend seen is that plus what is not sent yet.</summary>
    public void ApplyShared(DateTimeOffset window, decimal total)
    {
        lock (this.gate)
        {
            this.Roll(window);
            if (this.window == window)
            {
                this.spent = total + this.pending;
            }
        }
    }

    /// <summary>Moves to a newer window, which starts from zero; what the old one had not sent yet is kept to send.</summary>
    private void Roll(DateTimeOffset window)
    {
        if (window <= this.window)
        {
            return;
        }

        if (this.pending != 0)
        {
            (this.carried ??= []).Add((this.window, this.pending));
        }

        this.window = window;
        this.spent = 0;
        this.pending = 0;
    }

    /// <summary>Whether the cell holds nothing of the window of <paramref name="window"/> or later, and nothing to send.</summary>
    public bool IsStale(DateTimeOffset window) => this.window < window && this.pending == 0 && this.carried is null;
}
