using System.Globalization;
using System.Reflection;
using LlmApm.Otel.History;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>The history API of docs/api.md: <c>api/info</c>, <c>api/summary</c>, <c>api/requests</c>,
/// <c>api/requests/{id}</c>, <c>api/timeseries</c>, <c>api/replicas</c>.</summary>
internal static class LlmApmHistoryApi
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    // The wire format is the contract of docs/api.md, whatever JSON settings the host chose for its own API.
    private static readonly LlmApmAspNetCoreJsonContext Json = LlmApmAspNetCoreJsonContext.Default;

    private static readonly (string Name, TimeSpan Length, TimeSpan Bucket)[] Windows =
    [
        ("1m", TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5)),
        ("5m", TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(15)),
        ("1h", TimeSpan.FromHours(1), TimeSpan.FromMinutes(1)),
        ("24h", TimeSpan.FromHours(24), TimeSpan.FromMinutes(30)),
    ];

    public static void Map(IEndpointRouteBuilder api, LlmApmEndpointOptions options)
    {
        var info = (LlmApmInfo?)null;
        var aggregates = new LlmApmAggregateCache(api.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System);

        api.MapGet("/info", (HttpContext context) =>
            {
                info ??= CreateInfo(context.RequestServices, options);
                var health = Instrumentation(context).History.Health;
                var prices = LlmApmWirePriceFile.From(Instrumentation(context).PriceCatalog.Status);
                return TypedResults.Json(info with { History = LlmApmHistoryStatus.From(health), PriceFile = prices }, Json.LlmApmInfo);
            })
            .WithName("LlmApmInfo")
            .WithSummary("Service name, versions, features (the host's chat endpoint), whether the history keeps what it is given, and the price file's state.")
            .Produces<LlmApmInfo>();

        api.MapGet("/summary", IResult (HttpContext context, string? window, string? replica) =>
            {
                if (!TryGetWindow(window, out var w))
                {
                    return BadWindow(context);
                }

                var history = Instrumentation(context).History;
                var body = aggregates.Get($"summary|{w.Name}|{replica}", () =>
                {
                    var (from, to) = SummaryWindow(context, w.Length);
                    var cells = history.Aggregate(new LlmHistoryAggregateQuery { From = from, To = to, Bucket = to - from, Replica = NullIfEmpty(replica) });
                    return LlmApmSummary.Create(w.Name, LlmHistoryAnalytics.SummarizeCells(cells, from, to));
                });
                return TypedResults.Json(body, Json.LlmApmSummary);
            })
            .AddEndpointFilter(HistoryUnavailableFilter)
            .WithName("LlmApmSummary")
            .WithSummary("Count, error rate, latency, tokens and cost of the requests in a window (1m, 5m, 1h, 24h; default 5m), of every replica or of one.")
            .Produces<LlmApmSummary>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/requests", IResult (HttpContext context, string? limit, string? before, string? status, string? model, string? route, string? replica, string? q, string? negative, string? user, string? tenant, string? property) =>
            {
                var size = DefaultLimit;
                if (!string.IsNullOrEmpty(limit)
                    && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size < 1 || size > MaxLimit))
                {
                    return LlmApmProblems.BadRequest(context, $"'limit' must be an integer from 1 to {MaxLimit}.");
                }

                long? cursor = null;
                if (!string.IsNullOrEmpty(before))
                {
                    if (!long.TryParse(before, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
                    {
                        return LlmApmProblems.BadRequest(context, "'before' must be the non-negative integer 'nextCursor' of the previous page.");
                    }

                    cursor = seq;
                }

                if (!string.IsNullOrEmpty(status) && status is not ("ok" or "error"))
                {
                    return LlmApmProblems.BadRequest(context, "'status' must be 'ok' or 'error'.");
                }

                if (!string.IsNullOrEmpty(negative) && negative is not ("true" or "false"))
                {
                    return LlmApmProblems.BadRequest(context, "'negative' must be 'true' or 'false'.");
                }

                if (!TryGetAttribution(user, tenant, property, out var propertyKey, out var propertyValue, out var attributionError))
                {
                    return LlmApmProblems.BadRequest(context, attributionError);
                }

                var query = new LlmHistoryQuery
                {
                    NegativeOnly = negative == "true",
                    Limit = size + 1,
                    Before = cursor,
                    Status = NullIfEmpty(status),
                    Model = NullIfEmpty(model),
                    Route = NullIfEmpty(route),
                    Replica = NullIfEmpty(replica),
                    Q = NullIfEmpty(q),
                    UserId = NullIfEmpty(user),
                    TenantId = NullIfEmpty(tenant),
                    PropertyKey = propertyKey,
                    PropertyValue = propertyValue,
                };
                var found = Instrumentation(context).History.Query(query);
                var items = new LlmApmWireRequest[Math.Min(found.Count, size)];
                for (var i = 0; i < items.Length; i++)
                {
                    items[i] = LlmApmWireRequest.From(found[i]);
                }

                // One record more than the page tells whether there is a next page; a store that caps the page at
                // its maximum cannot tell, and then a full page always has a cursor (the next page may be empty).
                var more = found.Count > size || (found.Count == size && size >= LlmHistoryQuery.MaxLimit);
                var next = more && items.Length > 0 ? items[^1].Seq.ToString(CultureInfo.InvariantCulture) : null;
                return TypedResults.Json(new LlmApmRequestPage(items, next), Json.LlmApmRequestPage);
            })
            .AddEndpointFilter(HistoryUnavailableFilter)
            .WithName("LlmApmRequests")
            .WithSummary("Finished requests, newest first, paged with 'before' = the previous page's 'nextCursor'; filtered by status, model, route, replica, user, tenant, property ('key' or 'key:value'), negative scores or an id prefix (q).")
            .Produces<LlmApmRequestPage>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/requests/{id}", IResult (HttpContext context, string id) =>
            {
                var record = Instrumentation(context).History.Find(id);
                return record is null
                    ? LlmApmProblems.NotFound(context, "No request with this id is in the history.")
                    : TypedResults.Json(LlmApmWireRequest.From(record), Json.LlmApmWireRequest);
            })
            .AddEndpointFilter(HistoryUnavailableFilter)
            .WithName("LlmApmRequest")
            .WithSummary("One request record with its steps.")
            .Produces<LlmApmWireRequest>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/timeseries", IResult (HttpContext context, string? window, string? replica) =>
            {
                if (!TryGetWindow(window, out var w))
                {
                    return BadWindow(context);
                }

                var history = Instrumentation(context).History;
                var body = aggregates.Get($"timeseries|{w.Name}|{replica}", () =>
                {
                    // Buckets aligned on their own length, the current (partial) one last, so that successive
                    // polls show the same buckets.
                    var now = Now(context);
                    var bucketTicks = w.Bucket.Ticks;
                    var to = new DateTimeOffset(((now.UtcTicks / bucketTicks) + 1) * bucketTicks, TimeSpan.Zero);
                    var from = to - w.Length;
                    var cells = history.Aggregate(new LlmHistoryAggregateQuery { From = from, To = to, Bucket = w.Bucket, Replica = NullIfEmpty(replica) });
                    var series = LlmHistoryAnalytics.TimeSeriesOfCells(cells, from, to, w.Bucket);
                    return new LlmApmTimeSeries(w.Name, (int)w.Bucket.TotalSeconds, [.. series.Select(LlmApmWireBucket.From)]);
                });
                return TypedResults.Json(body, Json.LlmApmTimeSeries);
            })
            .AddEndpointFilter(HistoryUnavailableFilter)
            .WithName("LlmApmTimeSeries")
            .WithSummary("Buckets of a window for charts, oldest first, empty ones included.")
            .Produces<LlmApmTimeSeries>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/replicas", IResult (HttpContext context, string? window) =>
            {
                if (!TryGetWindow(window, out var w))
                {
                    return BadWindow(context);
                }

                var history = Instrumentation(context).History;
                var body = aggregates.Get($"replicas|{w.Name}", () =>
                {
                    // The summary's window, so that a replica's count is what the summary filtered by it counts.
                    var (from, to) = SummaryWindow(context, w.Length);
                    var rows = history.Replicas(from, to);
                    return new LlmApmReplicas(w.Name, from, to, [.. rows.Select(LlmApmWireReplica.From)]);
                });
                return TypedResults.Json(body, Json.LlmApmReplicas);
            })
            .AddEndpointFilter(HistoryUnavailableFilter)
            .WithName("LlmApmReplicas")
            .WithSummary($"The replicas that served requests in a window (1m, 5m, 1h, 24h; default 5m), each with its request count and the start of its last request, the most recently seen first; at most {LlmReplicaRow.MaxRows}.")
            .Produces<LlmApmReplicas>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The window of a summary: it ends now and starts at a whole step of the store's aggregates (5 s up to 5
    /// minutes, else a minute), and says so in its 'from'.</summary>
    private static (DateTimeOffset From, DateTimeOffset To) SummaryWindow(HttpContext context, TimeSpan length)
    {
        var to = Now(context);
        var from = LlmHistoryAnalytics.AlignDown(to - length, length <= TimeSpan.FromMinutes(5) ? TimeSpan.FromSeconds(5) : TimeSpan.FromMinutes(1));
        return (from, to);
    }

    /// <summary>A store that cannot read (a damaged database) is answered 503 with what is wrong, not 500: the service
    /// runs, only the history does not.</summary>
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

    internal static LlmApmInstrumentation Instrumentation(HttpContext context)
        => context.RequestServices.GetRequiredService<LlmApmInstrumentation>();

    private static DateTimeOffset Now(HttpContext context)
        => (context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static bool TryGetWindow(string? name, out (string Name, TimeSpan Length, TimeSpan Bucket) window)
    {
        name = string.IsNullOrEmpty(name) ? "5m" : name;
        foreach (var candidate in Windows)
        {
            if (string.Equals(candidate.Name, name, StringComparison.Ordinal))
            {
                window = candidate;
                return true;
            }
        }

        window = default;
        return false;
    }

    /// <summary>Reads the <c>user</c>, <c>tenant</c> and <c>property</c> filters (<c>key</c> or <c>key:value</c>) with the
    /// bounds the SDK puts on what a request carries: a filter that no request can match is a mistake worth saying.</summary>
    private static bool TryGetAttribution(string? user, string? tenant, string? property, out string? key, out string? value, out string error)
    {
        key = value = null;
        error = string.Empty;
        if (!string.IsNullOrEmpty(user) && !LlmAttribution.IsValidId(user))
        {
            error = $"'user' must be a user id of 1 to {LlmAttribution.MaxIdLength} characters without control characters.";
            return false;
        }

        if (!string.IsNullOrEmpty(tenant) && !LlmAttribution.IsValidId(tenant))
        {
            error = $"'tenant' must be a tenant id of 1 to {LlmAttribution.MaxIdLength} characters without control characters.";
            return false;
        }

        if (string.IsNullOrEmpty(property))
        {
            return true;
        }

        var colon = property.IndexOf(':', StringComparison.Ordinal);
        key = colon < 0 ? property : property[..colon];
        value = colon < 0 ? null : property[(colon + 1)..];
        if (!LlmAttribution.IsValidKey(key) || (value is not null && !LlmAttribution.IsValidValue(value)))
        {
            error = $"'property' must be 'key' or 'key:value': a key of 1 to {LlmAttribution.MaxKeyLength} letters, digits, '_', '-' or '.', a value of at most {LlmAttribution.MaxValueLength} characters without control characters.";
            return false;
        }

        return true;
    }

    private static ProblemHttpResult BadWindow(HttpContext context)
        => LlmApmProblems.BadRequest(context, "'window' must be one of 1m, 5m, 1h, 24h.");

    private static LlmApmInfo CreateInfo(IServiceProvider services, LlmApmEndpointOptions options)
    {
        var instrumentation = services.GetRequiredService<LlmApmInstrumentation>();
        var environment = services.GetService<IHostEnvironment>();
        var serviceName = Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME");
        if (string.IsNullOrWhiteSpace(serviceName))
        {
            serviceName = environment?.ApplicationName ?? "unknown";
        }

        var entry = Assembly.GetEntryAssembly();
        var chat = options.ChatEndpoint is null && options.ChatStreamEndpoint is null
            ? null
            : new LlmApmChatInfo(options.ChatEndpoint, options.ChatStreamEndpoint);
        return new LlmApmInfo(
            serviceName,
            entry is null ? null : VersionOf(entry),
            VersionOf(typeof(LlmApmInstrumentation).Assembly),
            instrumentation.Options.CaptureMessageContent,
            instrumentation.Options.HistoryCapacity,
            chat);
    }

    private static string? VersionOf(Assembly assembly)
    {
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString();
        var plus = version?.IndexOf('+', StringComparison.Ordinal) ?? -1;
        return plus > 0 ? version![..plus] : version;
    }
}
