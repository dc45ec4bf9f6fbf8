using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using LlmApm.Otel.History;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>
/// <c>api/stream</c>: server-sent events, one <c>request</c> event per finished request, <c>: keep-alive</c>
/// comments in between. Written by hand rather than with <c>TypedResults.ServerSentEvents</c>, which cannot send
/// comments or a leading <c>retry:</c> before the first event.
/// </summary>
internal static class LlmApmLiveStream
{
    private static readonly byte[] Retry = "retry: 2000\n\n"u8.ToArray();
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();
    private static readonly ConditionalWeakTable<LlmRequestRecord, byte[]> Events = [];

    public static async Task HandleAsync(HttpContext context, LlmApmEndpointOptions options)
    {
        var connections = context.RequestServices.GetRequiredService<LlmApmStreamConnections>();
        var client = context.Connection.RemoteIpAddress?.ToString() ?? "local";
        switch (connections.TryAcquire(client, options.MaxStreamConnectionsPerClient, options.MaxStreamConnections, out var open))
        {
            case LlmApmStreamConnections.Refusal.ClientLimit:
                LlmApmAspNetCoreEventSource.Log.StreamLimitReached(open);
                await LlmApmProblems.Create(
                        context,
                        StatusCodes.Status429TooManyRequests,
                        "Too many live streams.",
                        $"A client may hold {options.MaxStreamConnectionsPerClient} live streams open at once.")
                    .ExecuteAsync(context)
                    .ConfigureAwait(false);
                return;
            case LlmApmStreamConnections.Refusal.ServerLimit:
                LlmApmAspNetCoreEventSource.Log.StreamServerLimitReached(connections.Total);
                context.Response.Headers.RetryAfter = "30";
                await LlmApmProblems.Create(
                        context,
                        StatusCodes.Status503ServiceUnavailable,
                        "The live stream is full.",
                        $"The server holds {options.MaxStreamConnections} live streams open at once, its limit; try again later.")
                    .ExecuteAsync(context)
                    .ConfigureAwait(false);
                return;
        }

        try
        {
            // Subscribe before the first byte goes out: every request that finishes after the client saw the
            // response start is delivered.
            using var subscription = LlmApmHistoryApi.Instrumentation(context).Feed.Subscribe();
            await StreamAsync(context, subscription, options).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left.
        }
        finally
        {
            connections.Release(client);
        }
    }

    private static async Task StreamAsync(HttpContext context, LlmHistorySubscription subscription, LlmApmEndpointOptions options)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var aborted = context.RequestAborted;
        if (!await WriteAsync(context, Retry, options.StreamWriteTimeout).ConfigureAwait(false))
        {
            return;
        }

        var reader = subscription.Reader;
        var wait = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        try
        {
            while (true)
            {
                wait.CancelAfter(options.StreamKeepAliveInterval);
                bool more;
                try
                {
                    more = await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                {
                    wait.Dispose();
                    wait = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                    if (!await WriteAsync(context, KeepAlive, options.StreamWriteTimeout).ConfigureAwait(false))
                    {
                        return;
                    }

                    continue;
                }

                if (!more)
                {
                    // The feed completed the subscription: this client could not keep up.
                    LlmApmAspNetCoreEventSource.Log.StreamClientDropped("it could not keep up with the finished requests");
                    return;
                }

                wait.TryReset();
                while (reader.TryRead(out var record))
                {
                    if (!await WriteAsync(context, Formatted(record), options.StreamWriteTimeout).ConfigureAwait(false))
                    {
                        return;
                    }
                }
            }
        }
        finally
        {
            wait.Dispose();
        }
    }

    /// <summary>The event of <paramref name="record"/>, serialized once for all the streams that write it: every
    /// subscriber receives the same record instance, and the event lives as long as the record.</summary>
    internal static byte[] Formatted(LlmRequestRecord record) => Events.GetValue(record, Format);

    internal static byte[] Format(LlmRequestRecord record)
    {
        var builder = new StringBuilder(1024);
        builder.Append("event: request\nid: ")
            .Append(record.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Append("\ndata: ")
            .Append(JsonSerializer.Serialize(LlmApmWireRequest.From(record), LlmApmAspNetCoreJsonContext.Default.LlmApmWireRequest))
            .Append("\n\n");
        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    private static async Task<bool> WriteAsync(HttpContext context, byte[] payload, TimeSpan timeout)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(timeout);
        try
        {
            await context.Response.Body.WriteAsync(payload, deadline.Token).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            LlmApmAspNetCoreEventSource.Log.StreamClientDropped("a write took longer than the write timeout");
            context.Abort();
            return false;
        }
    }
}
