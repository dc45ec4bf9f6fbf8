using LlmApm.Otel.History;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel;

/// <summary>The services every entry point of LLM-APM needs, registered once per service collection.</summary>
internal static class LlmApmServices
{
    /// <summary>The configuration section the options are bound from: <c>LlmApm</c>.</summary>
    public const string SectionName = "LlmApm";

    /// <summary>The OpenTelemetry setting that turns the whole SDK into no-ops.</summary>
    public const string SdkDisabledKey = "OTEL_SDK_DISABLED";

    /// <summary>Registers the options (bound from <c>LlmApm</c>, validated at start), the history store, the feed and
    /// the instrumentation. Idempotent.</summary>
    public static void AddCore(IServiceCollection services)
    {
        if (!TryMark<CoreRegistration>(services))
        {
            return;
        }

        // The binding is registered before any configure delegate of the caller, so that code wins over configuration.
        services.AddOptions<LlmApmOptions>().ValidateOnStart();
        services.AddSingleton<IConfigureOptions<LlmApmOptions>, LlmApmOptionsBinder>();
        services.AddSingleton<IValidateOptions<LlmApmOptions>, LlmApmOptionsValidator>();
        services.AddSingleton<IValidateOptions<LlmApmOptions>, LlmBudgetOptionsValidator>();
        services.AddSingleton<Microsoft.Extensions.Hosting.IHostedService, LlmBudgetSync>();
        services.TryAddSingleton<ILlmHistoryStore, InMemoryLlmHistoryStore>();
        services.TryAddSingleton<LlmHistoryFeed>();
        services.TryAddSingleton(sp =>
        {
            var instrumentation = new LlmApmInstrumentation(
                sp.GetRequiredService<IOptions<LlmApmOptions>>(), sp.GetRequiredService<ILlmHistoryStore>(), sp.GetRequiredService<LlmHistoryFeed>());
            if (instrumentation.Enabled)
            {
                instrumentation.PriceCatalog.Watch(sp.GetService<ILoggerFactory>()?.CreateLogger("LlmApm.Otel.Prices"));
            }

            var evaluators = sp.GetServices<LlmEvaluator>().ToList();
            if (instrumentation.Enabled && evaluators.Count > 0)
            {
                instrumentation.Evaluations = new LlmEvaluationRunner(instrumentation, evaluators);
            }

            return instrumentation;
        });
    }

    /// <summary>Adds the marker <typeparamref name="T"/> unless it is there.</summary>
    /// <returns><c>true</c> the first time for a service collection.</returns>
    public static bool TryMark<T>(IServiceCollection services)
        where T : class, new()
    {
        if (services.Any(d => d.ServiceType == typeof(T)))
        {
            return false;
        }

        services.AddSingleton(new T());
        return true;
    }

    /// <summary>Reads an OpenTelemetry boolean setting the way the SDK does: <c>true</c>, case-insensitive.</summary>
    public static bool IsTrue(IConfiguration? configuration, string key)
        => bool.TryParse(configuration?[key], out var value) && value;

    /// <summary>Marks that the core services are registered.</summary>
    internal sealed class CoreRegistration;

    /// <summary>Binds <see cref="LlmApmOptions"/> from the host's configuration, when it has one.</summary>
    private sealed class LlmApmOptionsBinder(IServiceProvider services) : IConfigureOptions<LlmApmOptions>
    {
        public void Configure(LlmApmOptions options)
        {
            if (services.GetService<IConfiguration>() is not { } configuration)
            {
                return;
            }

            // The standard switches first (read from configuration, which holds the environment in a default host),
            // then the LlmApm section, which is more specific.
            if (bool.TryParse(configuration[LlmApmOptions.CaptureMessageContentEnvironmentVariable], out var capture))
            {
                options.CaptureMessageContent = capture;
            }

            configuration.GetSection(SectionName).Bind(options);
            if (IsTrue(configuration, SdkDisabledKey))
            {
                // OpenTelemetry is off: its providers are no-ops, so LLM-APM would only make spans that nothing reads.
                options.Enabled = false;
            }
        }
    }
}
