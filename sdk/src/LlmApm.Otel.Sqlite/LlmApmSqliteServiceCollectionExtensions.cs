using LlmApm.Otel.History;
using LlmApm.Otel.Sqlite;
using LlmApm.Otel.Sqlite.Implementation;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the SQLite history store.</summary>
public static class LlmApmSqliteServiceCollectionExtensions
{
    /// <summary>The configuration section of the store: <c>LlmApm:Sqlite</c>.</summary>
    public const string ConfigurationSectionName = "LlmApm:Sqlite";

    /// <summary>Makes LLM-APM's history durable on SQLite, in place of the in-memory ring, with the default options.</summary>
    /// <param name="services">The services.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApmSqliteHistory(this IServiceCollection services)
        => AddLlmApmSqliteHistory(services, configure: null);

    /// <summary>Makes LLM-APM's history durable on SQLite, in place of the in-memory ring. Works before or after
    /// <c>AddLlmApm()</c>. The options are validated and the database opened when the host starts.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the store.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApmSqliteHistory(this IServiceCollection services, Action<SqliteHistoryOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<SqliteHistoryOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteHistoryOptions>, SqliteHistoryOptionsValidator>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton<SqliteLlmHistoryStore>();
        services.Replace(ServiceDescriptor.Singleton<ILlmHistoryStore>(sp => sp.GetRequiredService<SqliteLlmHistoryStore>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SqliteHistoryLifetime>());
        return services;
    }

    /// <summary>Makes LLM-APM's history durable on SQLite with options bound from <c>LlmApm:Sqlite</c>.</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The host application builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder AddLlmApmSqliteHistory<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
        => AddLlmApmSqliteHistory(builder, configure: null);

    /// <summary>Makes LLM-APM's history durable on SQLite with options bound from <c>LlmApm:Sqlite</c>.</summary>
    /// <typeparam name="TBuilder">The builder type.</typeparam>
    /// <param name="builder">The host application builder.</param>
    /// <param name="configure">Configures the store after the configuration is bound.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder AddLlmApmSqliteHistory<TBuilder>(this TBuilder builder, Action<SqliteHistoryOptions>? configure)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<SqliteHistoryOptions>(builder.Configuration.GetSection(ConfigurationSectionName));
        builder.Services.AddLlmApmSqliteHistory(configure);
        return builder;
    }

    /// <summary>Opens the database when the host starts (so the constructor touches no file, and a database that
    /// cannot be opened is reported, not thrown, unless it is required) and writes what is queued when it stops.</summary>
    private sealed class SqliteHistoryLifetime(SqliteLlmHistoryStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.Run(store.Open, cancellationToken);

        public async Task StopAsync(CancellationToken cancellationToken) => await store.FlushAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }
}
