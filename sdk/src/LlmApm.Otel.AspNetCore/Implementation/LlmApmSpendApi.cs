using System.Globalization;
using LlmApm.Otel.History;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary><c>GET api/spend</c> (docs/api.md): the cost of a window by tenant, user, route or model, from the store's
/// <see cref="ILlmHistoryStore.Spend"/>.</summary>
internal static class LlmApmSpendApi
{
    public const int DefaultLimit = 20;

    // A filter is compared whole with an id of at most 128 characters (a route or model may be longer, but not much).
    private const int MaxFilterLength = 1024;

    private static readonly LlmApmAspNetCoreJsonContext Json = LlmApmAspNetCoreJsonContext.Default;

    private static readonly (string Name, TimeSpan Length)[] Windows =
    [
        ("1h", TimeSpan.FromHours(1)),
        ("24h", TimeSpan.FromHours(24)),
        ("7d", TimeSpan.FromDays(7)),
        ("30d", TimeSpan.FromDays(30)),
    ];

    private static readonly (string Name, LlmSpendDimension Value)[] Dimensions =
    [
        ("tenant", LlmSpendDimension.Tenant),
        ("user", LlmSpendDimension.User),
        ("route", LlmSpendDimension.Route),
        ("model", LlmSpendDimension.Model),
    ];

    public static void Map(IEndpointRouteBuilder api)
    {
        // Its own cache: a dashboard polls the spend as it polls the summary, and a 30-day window must not reach the
        // database on every poll of every open page.
        var cache = new LlmApmAggregateCache(api.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System);

        api.MapGet("/spend", IResult (HttpContext context, string? window, string? by, string? limit, string? tenant, string? user, string? route, string? model, string? replica) =>
            {
                window = string.IsNullOrEmpty(window) ? "24h" : window;
                var w = Array.FindIndex(Windows, c => string.Equals(c.Name, window, StringComparison.Ordinal));
                if (w < 0)
                {
                    return LlmApmProblems.BadRequest(context, "'window' must be one of 1h, 24h, 7d, 30d.");
                }

                by = string.IsNullOrEmpty(by) ? "tenant" : by;
                var d = Array.FindIndex(Dimensions, c => string.Equals(c.Name, by, StringComparison.Ordinal));
                if (d < 0)
                {
                    return LlmApmProblems.BadRequest(context, "'by' must be one of tenant, user, route, model.");
                }

                var size = DefaultLimit;
                if (!string.IsNullOrEmpty(limit)
                    && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > LlmSpendQuery.MaxLimit))
                {
                    return LlmApmProblems.BadRequest(context, $"'limit' must be an integer from 1 to {LlmSpendQuery.MaxLimit}.");
                }

                foreach (var (name, value) in (ReadOnlySpan<(string, string?)>)[("tenant", tenant), ("user", user), ("route", route), ("model", model), ("replica", replica)])
                {
                    if (value is { Length: > MaxFilterLength })
                    {
                        return LlmApmProblems.BadRequest(context, $"'{name}' must be at most {MaxFilterLength} characters.");
                    }
                }

                var history = LlmApmHistoryApi.Instrumentation(context).History;
                var time = context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
                var (windowName, length) = Windows[w];
                var dimension = Dimensions[d].Value;

                // One computation of every key (up to the store's maximum) serves each limit: the total is the sum of
                // all keys, not of the page, and a dashboard asking for 20 and one asking for 50 share it.
                var key = string.Join('\u001f', "spend", windowName, by, tenant, user, route, model, replica);
                var all = cache.Get(key, () =>
                {
                    var to = time.GetUtcNow();
                    var from = to - length;
                    var rows = history.Spend(new LlmSpendQuery
                    {
                        From = from,
                        To = to,
                        By = dimension,
                        Limit = LlmSpendQuery.MaxLimit,
                        TenantId = NullIfEmpty(tenant),
                        UserId = NullIfEmpty(user),
                        Route = NullIfEmpty(route),
                        Model = NullIfEmpty(model),
                        Replica = NullIfEmpty(replica),
                    });
                    return new LlmApmSpend(by, windowName, from, to, rows.Sum(r => r.CostUsd), [.. rows.Select(LlmApmWireSpendRow.From)]);
                });
                var body = all.Rows.Count <= size ? all : all with { Rows = [.. all.Rows.Take(size)] };
                return TypedResults.Json(body, Json.LlmApmSpend);
            })
            .AddEndpointFilter(HistoryUnavailableFilter)
            .WithName("LlmApmSpend")
            .WithSummary("Cost, requests and tokens of a window (1h, 24h, 7d, 30d; default 24h) by tenant, user, route or model, highest cost first.")
            .Produces<LlmApmSpend>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static async ValueTask<object?> HistoryUnavailableFilter(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        try
        {
            return await next(invocation).ConfigureAwait(false);
        }
        catch (LlmHistoryUnavailableException ex)
        {
            return LlmApmProblems.HistoryUnavailable(invocation.HttpContext, ex.Message);
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
