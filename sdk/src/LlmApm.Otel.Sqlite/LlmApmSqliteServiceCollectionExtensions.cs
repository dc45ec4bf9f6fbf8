using LlmApm.Otel.History;
using LlmApm.Otel.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite history store.</summary>
public static class LlmApmSqliteServiceCollectionExtensions
{
    /// <summary>The configuration section of the store: <c>LlmApm:Sqlite</c>.</summary>
    public const string ConfigurationSectionName = "LlmApm:Sqlite";

    /// <summary>Makes LLM-APM's history durable on SQLite, in place of the in-memory ring. Works before or after
    /// <c>AddLlmApm()</c>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the store.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApmSqliteHistory(this IServiceCollection services, Action<SqliteHistoryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<SqliteHistoryOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton<SqliteLlmHistoryStore>();
        services.Replace(ServiceDescriptor.Singleton<ILlmHistoryStore>(sp => sp.GetRequiredService<SqliteLlmHistoryStore>()));
        services.AddHostedService<SqliteHistoryFlusher>();
        return services;
    }

    /// <summary>Makes LLM-APM's history durable on SQLite with options bound from <c>LlmApm:Sqlite</c>.</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The host application builder.</param>
    /// <param name="configure">Configures the store after the configuration is bound.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder AddLlmApmSqliteHistory<TBuilder>(this TBuilder builder, Action<SqliteHistoryOptions>? configure = null)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<SqliteHistoryOptions>(builder.Configuration.GetSection(ConfigurationSectionName));
        builder.Services.AddLlmApmSqliteHistory(configure);
        return builder;
    }

    /// <summary>Opens the store at start (a bad path or schema fails the start, not the first request) and writes
    /// what is queued when the host stops.</summary>
    private sealed class SqliteHistoryFlusher(SqliteLlmHistoryStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken) => await store.FlushAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }
}
