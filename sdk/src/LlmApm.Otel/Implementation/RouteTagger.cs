using System.Collections.Concurrent;

namespace LlmApm.Otel;

/// <summary>Bounds the <c>route</c> metric tag: the first <see cref="MaxRoutes"/> distinct routes of a host keep their
/// name, any further one (or one longer than <see cref="MaxRouteLength"/>) is <c>other</c>. Routes are meant to be
/// templates, but a host can pass anything to <c>StartRequest</c>; spans and the history keep the route as given.
/// The request span name of each kept route is made once.</summary>
internal sealed class RouteTagger
{
    internal const int MaxRoutes = 100;
    internal const int MaxRouteLength = 256;

    // Route -> its request span name, "llm.request {route}".
    private readonly ConcurrentDictionary<string, string> routes = new(StringComparer.Ordinal);
    private int count;

    /// <summary>Returns the metric tag value of <paramref name="route"/>.</summary>
    public string Tag(string route) => this.Tag(route, out _);

    /// <summary>Returns the metric tag value of <paramref name="route"/>, and its request span name.</summary>
    public string Tag(string route, out string spanName)
    {
        if (route.Length <= MaxRouteLength)
        {
            if (this.routes.TryGetValue(route, out var kept))
            {
                spanName = kept;
                return route;
            }

            // Claim a slot first, so that racing threads never admit more than MaxRoutes names.
            if (Interlocked.Increment(ref this.count) <= MaxRoutes)
            {
                spanName = SpanNameOf(route);
                if (!this.routes.TryAdd(route, spanName))
                {
                    Interlocked.Decrement(ref this.count); // another thread added the same name
                }

                return route;
            }

            Interlocked.Decrement(ref this.count);
            if (this.routes.TryGetValue(route, out kept))
            {
                spanName = kept;
                return route;
            }
        }

        spanName = SpanNameOf(route);
        return LlmApmInstruments.OtherRoute;
    }

    private static string SpanNameOf(string route) => string.Concat(LlmApmTelemetry.RequestSpanPrefix, " ", route);
}
