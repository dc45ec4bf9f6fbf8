using System.Diagnostics.CodeAnalysis;
using LlmApm.Otel;
using LlmApm.Otel.AspNetCore;
using LlmApm.Otel.AspNetCore.Implementation;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// Maps the LLM-APM endpoints: the Prometheus scrape endpoint, the history API, the live stream and the dashboard.
/// </summary>
public static class LlmApmEndpointRouteBuilderExtensions
{
    /// <summary>The default prefix of the history API and the dashboard: <c>/llm-apm</c>.</summary>
    public const string DefaultPrefix = "/llm-apm";

    private const int MetricsEndpointOrder = 1000;

    /// <summary>
    /// Maps, under <paramref name="prefix"/>, the history API of docs/api.md (<c>api/info</c>, <c>api/summary</c>,
    /// <c>api/requests</c>, <c>api/requests/{id}</c>, <c>api/timeseries</c>, <c>api/replicas</c>, <c>api/spend</c>, the live stream
    /// <c>api/stream</c>),
    /// its OpenAPI document at <c>api/openapi.json</c> and the dashboard; and, outside the prefix, the Prometheus
    /// scrape endpoint at <see cref="LlmApmEndpointOptions.MetricsPath"/> (<c>/metrics</c>).
    /// By default everything under the prefix answers loopback clients (and clients with the access key) only;
    /// call <c>RequireAuthorization</c> on the returned group, or set
    /// <see cref="LlmApmEndpointOptions.AuthorizationPolicy"/>, to let the host's authorization decide instead.
    /// Requires <c>services.AddLlmApm()</c> and <c>services.AddLlmApmEndpoints()</c>.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder (the <c>WebApplication</c>).</param>
    /// <param name="prefix">The path prefix. Default: <c>/llm-apm</c>.</param>
    /// <returns>The route group of the endpoints under the prefix, for further conventions.</returns>
    /// <exception cref="InvalidOperationException">The services of LLM-APM are not registered.</exception>
    public static RouteGroupBuilder MapLlmApm(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string prefix = DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);

        var services = endpoints.ServiceProvider;
        if (services.GetService<LlmApmEndpointsMarker>() is null)
        {
            throw new InvalidOperationException("MapLlmApm() needs the services of the LLM-APM endpoints: call builder.Services.AddLlmApmEndpoints().");
        }

        if (services.GetService<LlmApmInstrumentation>() is null)
        {
            throw new InvalidOperationException("MapLlmApm() needs LLM-APM: call builder.Services.AddLlmApm() (or builder.AddLlmApm()).");
        }

        var options = services.GetRequiredService<IOptions<LlmApmEndpointOptions>>().Value;
        prefix = "/" + prefix.Trim('/');

        if (!string.IsNullOrEmpty(options.MetricsPath))
        {
            // A host that maps its own scrape endpoint at the same path keeps it: this one yields (a higher order loses
            // the match instead of making it ambiguous), so the path answers once, from the host's endpoint.
            endpoints.MapPrometheusScrapingEndpoint(options.MetricsPath).Add(endpoint =>
            {
                if (endpoint is RouteEndpointBuilder route)
                {
                    route.Order = MetricsEndpointOrder;
                }
            });
        }

        var group = endpoints.MapGroup(prefix);
        group.WithGroupName(LlmApmOpenApi.DocumentName);
        group.WithTags("LLM-APM");
        ((IEndpointConventionBuilder)group).Finally(new LlmApmAccessGuard(options, prefix).Apply);
        if (!string.IsNullOrEmpty(options.AuthorizationPolicy))
        {
            group.RequireAuthorization(options.AuthorizationPolicy);
        }

        var api = group.MapGroup("/api");
        LlmApmHistoryApi.Map(api, options);
        LlmApmPricesApi.Map(api);
        LlmApmScoresApi.Map(api);
        LlmApmSpendApi.Map(api);
        LlmApmBudgetsApi.Map(api);
        api.MapGet("/stream", (Func<HttpContext, Task>)(context => LlmApmLiveStream.HandleAsync(context, options)))
            .WithName("LlmApmStream")
            .WithSummary("Server-sent events: one 'request' event per finished request, ': keep-alive' comments in between.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        api.MapOpenApi(LlmApmOpenApi.Route).AddEndpointFilter(LlmApmOpenApi.OnlyThisDocument);
        api.Map("/{**rest}", (HttpContext context) => LlmApmProblems.NotFound(context, "No such LLM-APM API endpoint."))
            .ExcludeFromDescription();

        // The embedded dashboard; tests register a set of their own.
        var assets = services.GetService<LlmApmDashboardAssets>() ?? LlmApmDashboardAssets.Instance;
        group.MapMethods("/{**path}", [HttpMethods.Get, HttpMethods.Head], (HttpContext context, string? path) => assets.ServeAsync(context, path))
            .ExcludeFromDescription();

        return group;
    }
}
