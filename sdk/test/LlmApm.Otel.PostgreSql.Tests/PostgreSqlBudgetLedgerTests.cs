using System.Collections.Concurrent;
using LlmApm.Otel.PostgreSql.Implementation;
using LlmApm.Otel.PostgreSql.Tests.Infrastructure;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace LlmApm.Otel.PostgreSql.Tests;

/// <summary>A hard budget shared by two replicas through one real PostgreSQL database: two hosts, each with its own
/// instrumentation and ledger, under 16-way concurrency each, against a fake provider of fixed cost.</summary>
[Collection(SharedCluster.Name)]
public sealed class PostgreSqlBudgetLedgerTests(PostgresCluster cluster)
{
    private const string Model = "budget-pg-model";
    private const int Replicas = 2;
    private const int Workers = 16;
    private const int CallsPerWorker = 20;
    private const decimal Limit = 100m;

    [Fact]
    public async Task GetResponseAsync_TwoReplicasSixteenWayEach_SpendStopsWithinTheStatedBound()
    {
        var connectionString = await cluster.CreateDatabaseAsync();
        var hosts = new List<IHost>();
        for (var r = 0; r < Replicas; r++)
        {
            hosts.Add(await StartReplicaAsync(connectionString, $"replica-{r}"));
        }

        foreach (var host in hosts)
        {
            // Seeded: the shared tables exist and the replica has read the others' spend once.
            await host.Services.GetServices<IHostedService>().OfType<LlmBudgetSync>().Single().Seeded;
        }

        var refused = new ConcurrentBag<LlmBudgetExceededException>();
        var answered = 0;
        await Task.WhenAll(hosts.SelectMany(host => Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            var instrumentation = host.Services.GetRequiredService<LlmApmInstrumentation>();
            var client = host.Services.GetRequiredService<IChatClient>();
            for (var i = 0; i < CallsPerWorker; i++)
            {
                using var request = instrumentation.StartRequest("/chat");
                try
                {
                    await client.GetResponseAsync("hello");
                    Interlocked.Increment(ref answered);
                }
                catch (LlmBudgetExceededException ex)
                {
                    refused.Add(ex);
                    Assert.Equal(LlmErrorTypes.BudgetExceeded, request.ErrorType);
                }
            }
        }))));

        var unsynced = new List<decimal>();
        foreach (var host in hosts)
        {
            // Stopping sends what the replica spent since its last round; then the ledger knows the most it spent
            // between two rounds: what the other replicas could not see of it.
            await host.StopAsync();
            unsynced.Add(host.Services.GetRequiredService<LlmApmInstrumentation>().Budgets!.MaxUnsyncedUsd);
            host.Dispose();
        }

        var shared = await ReadSharedAsync(connectionString);
        Assert.Equal(answered, shared);
        Assert.Equal((Replicas * Workers * CallsPerWorker) - answered, refused.Count);
        Assert.NotEmpty(refused);
        Assert.All(refused, ex => Assert.Equal(("shared", Limit), (ex.BudgetName, ex.LimitUsd)));

        // The stated bound: each replica's calls in flight (16 at 1 USD), plus what the other replicas spent while a
        // replica had not yet read it: at most two of their rounds (the round it read before, and the one in progress).
        var bound = Limit + (Replicas * Workers * 1m) + (2 * unsynced.Sum());
        Console.WriteLine($"Shared budget: spent {shared} of {Limit}, bound {bound} (most unsent per replica: {string.Join(", ", unsynced)}).");
        Assert.InRange(shared, Limit, bound);
    }

    [Fact]
    public async Task StartAsync_SecondReplica_SeesTheSpendOfTheFirstFromTheSharedTable()
    {
        var connectionString = await cluster.CreateDatabaseAsync();
        using var first = await StartReplicaAsync(connectionString, "first");
        using (first.Services.GetRequiredService<LlmApmInstrumentation>().StartRequest("/chat"))
        {
            for (var i = 0; i < Limit; i++)
            {
                await first.Services.GetRequiredService<IChatClient>().GetResponseAsync("hello");
            }
        }

        await first.StopAsync();

        using var second = await StartReplicaAsync(connectionString, "second");
        await second.Services.GetServices<IHostedService>().OfType<LlmBudgetSync>().Single().Seeded;
        using var request = second.Services.GetRequiredService<LlmApmInstrumentation>().StartRequest("/chat");
        var ex = await Assert.ThrowsAsync<LlmBudgetExceededException>(() => second.Services.GetRequiredService<IChatClient>().GetResponseAsync("hello"));
        Assert.Equal(Limit, ex.SpentUsd);
    }

    private static async Task<IHost> StartReplicaAsync(string connectionString, string instance)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLlmApm(o =>
        {
            // 10 input tokens at 0.1 USD each: one call of the fake costs 1 USD.
            o.Prices[Model] = new LlmModelPrice { InputPerMillion = 100_000m };
            o.Budgets["shared"] = new LlmBudgetOptions { LimitUsd = Limit, Period = LlmBudgetPeriod.Month, Hard = true };
        });
        builder.Services.AddLlmApmPostgreSqlHistory(o =>
        {
            o.ConnectionString = connectionString;
            o.InstanceId = instance;
        });
        builder.Services.Replace(ServiceDescriptor.Singleton<LlmBudgetSharedStore>(_ => new PostgreSqlBudgetLedger(connectionString, TimeSpan.FromMilliseconds(50))));
        builder.Services.AddChatClient(new FakeChatClient { Model = Model, Metadata = new("fake", null, Model), Delay = TimeSpan.FromMilliseconds(20) }).UseLlmApm();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static async Task<decimal> ReadSharedAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT coalesce(sum(spent_usd), 0) FROM llm_budget_spend WHERE budget = 'shared'", connection);
        return (decimal)(await command.ExecuteScalarAsync())!;
    }
}
