using LlmApm.Otel.History;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmApm.Otel;

/// <summary>
/// Seeds the budget ledger from the durable history when the host starts (the spend of each budget's current window
/// up to then), and, with a shared ledger, sends this replica's spend and reads every replica's each refresh interval.
/// Runs in the background: a history or database that is down never holds the start; the ledger counts from zero.
/// </summary>
internal sealed class LlmBudgetSync(IServiceProvider services) : IHostedService, IDisposable
{
    /// <summary>How often an in-process ledger forgets the keys of past windows.</summary>
    private static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(1);

    /// <summary>How often a history that cannot be read yet is asked again for the seed.</summary>
    private static readonly TimeSpan SeedRetryInterval = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource stopping = new();
    private Task loop = Task.CompletedTask;
    private int stopped;

    /// <summary>Gets a task that completes once the ledger is seeded (for tests and diagnostics).</summary>
    internal Task Seeded { get; private set; } = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var instrumentation = services.GetRequiredService<LlmApmInstrumentation>();
        if (instrumentation.Budgets is not { } ledger)
        {
            return Task.CompletedTask;
        }

        var shared = services.GetService<LlmBudgetSharedStore>();
        var seeded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        this.Seeded = seeded.Task;
        this.loop = Task.Run(() => RunAsync(instrumentation, ledger, shared, seeded, this.stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A host may dispose its services before (or without) stopping them: stop once, whichever comes first.
        if (Interlocked.Exchange(ref this.stopped, 1) != 0)
        {
            return;
        }

        await this.stopping.CancelAsync().ConfigureAwait(false);
        await this.loop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref this.stopped, 1) == 0)
        {
            this.stopping.Cancel();
        }

        this.stopping.Dispose();
    }

    /// <summary>Sends what this replica spent and reads what every replica spent: one round of the shared ledger.</summary>
    internal static async Task SyncAsync(LlmBudgetLedger ledger, LlmBudgetSharedStore shared, CancellationToken cancellationToken, bool read = true)
    {
        var pending = ledger.TakePending();
        for (var i = 0; i < pending.Count; i++)
        {
            var (budget, key, window, amount) = pending[i];
            try
            {
                var total = await shared.AddAsync(budget.Name, key, window, amount, cancellationToken).ConfigureAwait(false);
                budget.ApplyShared(key, window, total);
            }
            catch (Exception)
            {
                // Not sent: put back what is left, so that the next round sends it.
                for (var j = i; j < pending.Count; j++)
                {
                    pending[j].Budget.Restore(pending[j].Key, pending[j].Window, pending[j].Amount);
                }

                throw;
            }
        }

        if (!read)
        {
            return;
        }

        var now = ledger.Now;
        var windows = ledger.Budgets.Select(b => (b.Name, b.WindowOf(now))).ToList();
        var rows = await shared.ReadAsync(windows, cancellationToken).ConfigureAwait(false);
        var byName = ledger.Budgets.ToDictionary(b => b.Name, StringComparer.Ordinal);
        foreach (var (name, key, window, spent) in rows)
        {
            if (byName.TryGetValue(name, out var budget))
            {
                budget.ApplyShared(key, window, spent);
            }
        }
    }

    /// <summary>The spend the history keeps for each budget's current window, read up to the ledger's start.</summary>
    internal static IEnumerable<(LlmBudget Budget, string Key, DateTimeOffset Window, decimal SpentUsd)> ReadHistory(
        ILlmHistoryStore history, LlmBudgetLedger ledger, ModelTagger models)
    {
        foreach (var budget in ledger.Budgets)
        {
            var window = budget.WindowOf(ledger.StartedAt);
            var query = new LlmSpendQuery
            {
                From = window,
                To = ledger.StartedAt,
                Limit = LlmSpendQuery.MaxLimit,
                By = budget.Scope switch
                {
                    LlmBudgetScope.Tenant => LlmSpendDimension.Tenant,
                    LlmBudgetScope.User => LlmSpendDimension.User,
                    LlmBudgetScope.Route => LlmSpendDimension.Route,

                    // A global budget sums every row: models are few and bounded, so the rows are all there.
                    _ => LlmSpendDimension.Model,
                },
            };
            switch (budget.Scope)
            {
                case LlmBudgetScope.Tenant:
                    query.TenantId = budget.Key;
                    break;
                case LlmBudgetScope.User:
                    query.UserId = budget.Key;
                    break;
                case LlmBudgetScope.Route:
                    query.Route = budget.Key;
                    break;
            }

            var spent = new Dictionary<string, decimal>(StringComparer.Ordinal);
            foreach (var row in history.Spend(query))
            {
                var key = budget.Scope switch
                {
                    LlmBudgetScope.Global => LlmBudget.GlobalKey,
                    LlmBudgetScope.Model => budget.KeyOf(null, null, null, models.Tag(row.Key)),
                    _ => row.Key,
                };
                if (key is not null && row.CostUsd > 0)
                {
                    spent[key] = spent.GetValueOrDefault(key) + row.CostUsd;
                }
            }

            foreach (var (key, amount) in spent)
            {
                yield return (budget, key, window, amount);
            }
        }
    }

    private static async Task RunAsync(
        LlmApmInstrumentation instrumentation, LlmBudgetLedger ledger, LlmBudgetSharedStore? shared, TaskCompletionSource seeded, CancellationToken cancellationToken)
    {
        // A history that cannot be read yet (a database still starting) is asked again each round until it answers:
        // it is read up to the ledger's start, so spend counted since is never counted twice.
        var interval = shared?.RefreshInterval ?? SeedRetryInterval;
        var lastPrune = ledger.Now;
        var lastRead = DateTimeOffset.MinValue;
        var first = true;
        ledger.Shared = shared is not null;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!first)
            {
                try
                {
                    // With a shared ledger, this replica's spend goes out as soon as it is added (the upsert returns the
                    // total of every replica); every replica's totals are read each interval.
                    var delay = Task.Delay(seeded.Task.IsCompleted ? interval : TimeSpan.FromTicks(Math.Min(interval.Ticks, SeedRetryInterval.Ticks)), cancellationToken);
                    var woken = shared is null ? delay : await Task.WhenAny(delay, ledger.WaitForAddAsync(cancellationToken)).ConfigureAwait(false);
                    await woken.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            first = false;
            if (!seeded.Task.IsCompleted)
            {
                try
                {
                    await SeedAsync(instrumentation, ledger, shared, cancellationToken).ConfigureAwait(false);
                    seeded.TrySetResult();
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    LlmApmEventSource.Log.CallbackFailed("seed the budgets from the history", ex);
                }
            }

            try
            {
                if (shared is not null)
                {
                    var read = ledger.Now - lastRead >= interval;
                    await SyncAsync(ledger, shared, cancellationToken, read).ConfigureAwait(false);
                    if (read)
                    {
                        lastRead = ledger.Now;
                    }
                }

                if (ledger.Now - lastPrune >= PruneInterval)
                {
                    ledger.Prune();
                    lastPrune = ledger.Now;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                LlmApmEventSource.Log.CallbackFailed("share the budget spend", ex);
            }
        }

        seeded.TrySetResult();
        if (shared is not null)
        {
            // What this replica spent since the last round still counts for the others.
            try
            {
                using var last = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await SyncAsync(ledger, shared, last.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LlmApmEventSource.Log.CallbackFailed("share the budget spend", ex);
            }
        }
    }

    private static async Task SeedAsync(LlmApmInstrumentation instrumentation, LlmBudgetLedger ledger, LlmBudgetSharedStore? shared, CancellationToken cancellationToken)
    {
        var seeds = ReadHistory(instrumentation.History, ledger, instrumentation.Models).ToList();
        if (shared is null)
        {
            foreach (var (budget, key, window, amount) in seeds)
            {
                budget.Seed(key, window, amount);
            }

            return;
        }

        // The first replica to seed a budget's window seeds it for every replica; the others find it seeded.
        foreach (var budget in ledger.Budgets)
        {
            var window = budget.WindowOf(ledger.StartedAt);
            var keys = seeds.Where(s => ReferenceEquals(s.Budget, budget)).Select(s => (s.Key, s.SpentUsd)).ToList();
            await shared.SeedAsync(budget.Name, window, keys, cancellationToken).ConfigureAwait(false);
        }
    }
}
