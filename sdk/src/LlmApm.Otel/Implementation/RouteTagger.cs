using System.Collections.Concurrent;

namespace LlmApm.Otel;

/// <summary>Bounds the <c>route</c> metric tag: the first <see cref="MaxRoutes"/> distinct routes of a host keep their
/// name, any further one (or one longer than <see cref="MaxRouteLength"/>) is <c>other</c>. Routes are meant to be
/// templates, but a host can pass anything to <c>StartRequest</c>; spans and the history keep the route as given.</summary>
internal sealed class RouteTagger
{
    internal const int MaxRoutes = 100;
    internal const int MaxRouteLength = 256;

    private readonly ConcurrentDictionary<string, byte> routes = new(StringComparer.Ordinal);
    private int count;

    /// <summary>Returns the metric tag value of <paramref name="route"/>.</summary>
    public string Tag(string route)
    {
        if (route.Length > MaxRouteLength)
        {
            return LlmApmInstruments.OtherRoute;
        }

        if (this.routes.ContainsKey(route))
        {
            return route;
        }

        // Claim a slot first, so that racing threads never admit more than MaxRoutes names.
        if (Interlocked.Increment(ref this.count) <= MaxRoutes)
        {
            if (this.routes.TryAdd(route, 0))
            {
                return route;
            }

            Interlocked.Decrement(ref this.count);
            return route; // another thread added the same name
        }

        Interlocked.Decrement(ref this.count);
        return this.routes.ContainsKey(route) ? route : LlmApmInstruments.OtherRoute;
    }
}
