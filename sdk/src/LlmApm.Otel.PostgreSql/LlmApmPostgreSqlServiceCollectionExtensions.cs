using LlmApm.Otel;
using LlmApm.Otel.History;
using LlmApm.Otel.PostgreSql;
using LlmApm.Otel.PostgreSql.Implementation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the PostgreSQL history store.</summary>
public static class LlmApmPostgreSqlServiceCollectionExtensions
{
    /// <summary>The configuration section of the store: <c>LlmApm:PostgreSql</c>.</summary>
    public const string ConfigurationSectionName = "LlmApm:PostgreSql";

    /// <summary>The connection string's name under <c>ConnectionStrings</c>: <c>LlmApmHistory</c>.</summary>
    public const string ConnectionStringName = PostgreSqlConnection.ConnectionStringName;

    /// <summary>Keeps LLM-APM's history in PostgreSQL, shared by every replica that uses the same database, in place
    /// of the in-memory ring. Works before or after <c>AddLlmApm()</c>. The options are validated and the writer
    /// started when the host starts; a database that is down does not hold the start.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the store.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApmPostgreSqlHistory(this IServiceCollection services, Action<PostgreSqlHistoryOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        return AddCore(services);
    }

    /// <summary>Keeps LLM-APM's history in PostgreSQL with options bound from <c>LlmApm:PostgreSql</c> and the
    /// connection string from <c>ConnectionStrings:LlmApmHistory</c> (or <c>LlmApm:PostgreSql:ConnectionString</c>).</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The host application builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder AddLlmApmPostgreSqlHistory<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
        => AddLlmApmPostgreSqlHistory(builder, configure: null);

    /// <summary>Keeps LLM-APM's history in PostgreSQL with options bound from <c>LlmApm:PostgreSql</c> and the
    /// connection string from <c>ConnectionStrings:LlmApmHistory</c> (or <c>LlmApm:PostgreSql:ConnectionString</c>).</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The host application builder.</param>
    /// <param name="configure">Configures the store after the configuration is bound.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder AddLlmApmPostgreSqlHistory<TBuilder>(this TBuilder builder, Action<PostgreSqlHistoryOptions>? configure)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        builder.Services.Configure<PostgreSqlHistoryOptions>(o =>
        {
            o.ConnectionString = configuration.GetConnectionString(ConnectionStringName);
        });
        builder.Services.Configure<PostgreSqlHistoryOptions>(configuration.GetSection(ConfigurationSectionName));
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        AddCore(builder.Services);
        return builder;
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddOptions<PostgreSqlHistoryOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlHistoryOptions>, PostgreSqlHistoryOptionsValidator>());
        services.TryAddSingleton<PostgreSqlLlmHistoryStore>();
        services.Replace(ServiceDescriptor.Singleton<ILlmHistoryStore>(sp => sp.GetRequiredService<PostgreSqlLlmHistoryStore>()));
        services.TryAddSingleton<LlmBudgetSharedStore>(sp => new PostgreSqlBudgetLedger(
            sp.GetRequiredService<IOptions<PostgreSqlHistoryOptions>>().Value.ConnectionString ?? string.Empty, PostgreSqlBudgetLedger.DefaultRefreshInterval));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgreSqlHistoryLifetime>(sp => new PostgreSqlHistoryLifetime(
            sp.GetRequiredService<PostgreSqlLlmHistoryStore>(),
            sp.GetService<LlmHistoryFeed>(),
            sp.GetRequiredService<IOptions<PostgreSqlHistoryOptions>>().Value)));
        return services;
    }

    /// <summary>Starts the writer (and the live relay when LLM-APM's live stream is registered) when the host
    /// starts, and writes what is queued when it stops.</summary>
    private sealed class PostgreSqlHistoryLifetime(PostgreSqlLlmHistoryStore store, LlmHistoryFeed? feed, PostgreSqlHistoryOptions options) : IHostedService, IDisposable
    {
        private readonly CancellationTokenSource stopping = new();
        private Task relay = Task.CompletedTask;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await store.StartAsync(cancellationToken).ConfigureAwait(false);
            if (feed is not null)
            {
                this.relay = new PostgreSqlLiveRelay(store, feed, options).RunAsync(this.stopping.Token);
            }
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await this.stopping.CancelAsync().ConfigureAwait(false);
            await this.relay.ConfigureAwait(false);
            await store.FlushAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }

        public void Dispose() => this.stopping.Dispose();
    }
}
