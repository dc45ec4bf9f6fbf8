using LlmApm.Otel;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds LLM-APM's history to the host's health checks.</summary>
public static class LlmApmHealthChecksBuilderExtensions
{
    /// <summary>The default name of the check.</summary>
    public const string HistoryCheckName = "llm-apm-history";

    /// <summary>Reports the request history's store: Healthy while it keeps what it is given, Degraded with the reason
    /// while it does not (a damaged, locked or full database). Never Unhealthy: the service itself still works.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The name of the check.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHealthChecksBuilder AddLlmApmHistory(this IHealthChecksBuilder builder, string name = HistoryCheckName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddCheck<LlmApmHistoryHealthCheck>(name, HealthStatus.Degraded, ["llm-apm"]);
    }

    private sealed class LlmApmHistoryHealthCheck(LlmApmInstrumentation instrumentation) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var health = instrumentation.History.Health;
            return Task.FromResult(health.IsHealthy
                ? HealthCheckResult.Healthy("The request history keeps every request.")
                : HealthCheckResult.Degraded(health.Reason));
        }
    }
}
