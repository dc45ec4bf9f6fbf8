using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Resources;

namespace LlmApm.Otel.History;

/// <summary>The replica a record says served it: <c>service.instance.id</c> of the tracer provider's resource, as
/// Prometheus's <c>instance</c> and the trace backend know the process; without one, <c>host-pid</c>, readable in the
/// dashboard and distinct among the processes running at once (a container's host name is its own).</summary>
internal static class LlmReplica
{
    private const string ServiceInstanceId = "service.instance.id";

    /// <summary>Gets the id of this process when the resource has none.</summary>
    public static string ProcessId { get; } = string.Create(
        CultureInfo.InvariantCulture, $"{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}");

    /// <summary>The replica of the provider that owns a processor.</summary>
    /// <param name="provider">The processor's parent provider, or <c>null</c> before it has one.</param>
    /// <returns>The replica id.</returns>
    public static string Of(BaseProvider? provider) => From(provider?.GetResource());

    /// <summary>The replica named by <paramref name="resource"/>, or <see cref="ProcessId"/>.</summary>
    internal static string From(Resource? resource)
    {
        if (resource is not null)
        {
            foreach (var attribute in resource.Attributes)
            {
                if (string.Equals(attribute.Key, ServiceInstanceId, StringComparison.Ordinal)
                    && attribute.Value?.ToString() is { Length: > 0 } id)
                {
                    return id;
                }
            }
        }

        return ProcessId;
    }
}
