using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Wraps the request delegate of an LLM endpoint in an <see cref="LlmRequest"/>.</summary>
internal static class LlmEndpointRequestDelegate
{
    private static readonly LlmApmAttributionOptions DefaultAttribution = new();

    public static void Wrap(EndpointBuilder endpoint)
    {
        var inner = endpoint.RequestDelegate;
        if (inner is null || endpoint.Metadata.OfType<LlmApmEndpointMetadata>().Any())
        {
            return;
        }

        var route = RouteOf(endpoint);
        endpoint.Metadata.Add(new LlmApmEndpointMetadata(route));
        endpoint.RequestDelegate = context => InvokeAsync(context, inner, route);
    }

    internal static string RouteOf(EndpointBuilder endpoint)
    {
        var raw = (endpoint as RouteEndpointBuilder)?.RoutePattern.RawText;
        if (string.IsNullOrEmpty(raw))
        {
            return endpoint.DisplayName ?? "unknown";
        }

        return raw.StartsWith('/') ? raw : "/" + raw;
    }

    private static async Task InvokeAsync(HttpContext context, RequestDelegate inner, string route)
    {
        var instrumentation = context.RequestServices.GetService<LlmApmInstrumentation>();
        if (instrumentation is null)
        {
            LlmApmAspNetCoreEventSource.Log.InstrumentationMissing(route);
            await inner(context).ConfigureAwait(false);
            return;
        }

        // Who the request is for is read first: a header that cannot be an id is the client's mistake, answered 400
        // before anything is recorded under it.
        var attributionOptions = context.RequestServices.GetService<IOptions<LlmApmAttributionOptions>>()?.Value ?? DefaultAttribution;
        if (!LlmEndpointAttribution.TryRead(context, attributionOptions, out var attribution, out var problem))
        {
            LlmApmAspNetCoreEventSource.Log.AttributionHeaderRefused(route, problem!);
            await LlmApmProblems.Create(context, StatusCodes.Status400BadRequest, "Invalid request header.", problem).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        LlmRequest request;
        try
        {
            request = instrumentation.StartRequest(route, conversationId: null, context.RequestAborted);
        }
#pragma warning disable CA1031 // Telemetry must never break the request: the endpoint runs without it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LlmApmAspNetCoreEventSource.Log.StartRequestFailed(route, ex);
            await inner(context).ConfigureAwait(false);
            return;
        }

        using (request)
        {
            attribution?.ApplyTo(request);
            try
            {
                await inner(context).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (context.RequestAborted.IsCancellationRequested)
            {
                LlmApmAspNetCoreEventSource.Log.LlmEndpointFailed(route, ex);
                request.Fail(LlmErrorTypes.Cancelled, "The client aborted the request.");
                throw;
            }
            catch (BadHttpRequestException ex)
            {
                // The server refused what the client sent (a bad chunk, a body too large or too slow): the client's
                // failure, never an error of the endpoint or its provider.
                LlmApmAspNetCoreEventSource.Log.LlmEndpointFailed(route, ex);
                request.Fail(
                    context.RequestAborted.IsCancellationRequested ? LlmErrorTypes.Cancelled : LlmErrorTypes.InvalidRequest,
                    $"The server refused the request body (HTTP {ex.StatusCode}).");
                throw;
            }
            catch (LlmBudgetExceededException ex) when (!context.Response.HasStarted)
            {
                // A hard budget refused the call before the provider: the client is told which and until when.
                request.Fail(ex);
                await LlmApmBudgetsApi.WriteRefusalAsync(context, ex).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LlmApmAspNetCoreEventSource.Log.LlmEndpointFailed(route, ex);
                request.Fail(ex);
                throw;
            }

            if (request.ErrorType is null)
            {
                if (context.RequestAborted.IsCancellationRequested)
                {
                    request.Fail(LlmErrorTypes.Cancelled, "The client aborted the request.");
                }
                else if (context.Response.StatusCode >= StatusCodes.Status500InternalServerError)
                {
                    request.Fail(LlmErrorTypes.Other, $"The endpoint answered HTTP {context.Response.StatusCode}.");
                }
            }
        }
    }
}
