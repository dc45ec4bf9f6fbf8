using System.Text.Json;
using ChatService.Errors;
using LlmApm.Otel;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.AI;

namespace ChatService.Chat;

/// <summary>Maps <c>POST /api/chat</c> and <c>POST /api/chat/stream</c> (server-sent events).</summary>
internal static class ChatEndpoints
{
    public const string ChatPath = "/api/chat";
    public const string StreamPath = "/api/chat/stream";
    public const string RateLimitPolicy = "chat";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapChatEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(ChatPath, ChatAsync)
            .WithName("Chat")
            .Accepts<ChatRequestBody>("application/json")
            .Produces<ChatReply>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .RequireRateLimiting(RateLimitPolicy)
            .WithLlmApm();

        endpoints.MapPost(StreamPath, StreamAsync)
            .WithName("ChatStream")
            .Accepts<ChatRequestBody>("application/json")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .RequireRateLimiting(RateLimitPolicy)
            .WithLlmApm();

        return endpoints;
    }

    private static async Task<IResult> ChatAsync(HttpContext context, ChatHandler handler)
    {
        var turn = await handler.PrepareAsync(context).ConfigureAwait(false);
        var reply = await handler.CompleteAsync(turn, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(reply);
    }

    private static async Task StreamAsync(HttpContext context, ChatHandler handler, ChatProblemMapper problems)
    {
        var aborted = context.RequestAborted;
        var turn = await handler.PrepareAsync(context).ConfigureAwait(false);
        var updates = new List<ChatResponseUpdate>();
        var started = false;

        var stream = handler.Client.GetStreamingResponseAsync(turn.Prompt, handler.CreateChatOptions(), aborted);
        var enumerator = stream.GetAsyncEnumerator(aborted);
        await using (enumerator.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (Exception ex) when (started && !aborted.IsCancellationRequested)
                {
                    // The stream has begun: the failure becomes an error event, the request is recorded as failed.
                    LlmRequest.Current?.Fail(ex);
                    await WriteProblemEventAsync(context, problems.Map(ex, aborted)).ConfigureAwait(false);
                    return;
                }

                var update = enumerator.Current;
                updates.Add(update);
                if (string.IsNullOrEmpty(update.Text))
                {
                    continue;
                }

                if (!started)
                {
                    StartEventStream(context.Response);
                    started = true;
                }

                await WriteEventAsync(context.Response, "delta", new ChatDelta(update.Text), aborted).ConfigureAwait(false);
            }
        }

        if (!started)
        {
            StartEventStream(context.Response);
        }

        ChatReply done;
        try
        {
            done = handler.Finish(turn, updates.ToChatResponse(), includeReply: false);
        }
        catch (Exception ex) when (!aborted.IsCancellationRequested)
        {
            LlmRequest.Current?.Fail(ex);
            await WriteProblemEventAsync(context, problems.Map(ex, aborted)).ConfigureAwait(false);
            return;
        }

        await WriteEventAsync(context.Response, "done", done, aborted).ConfigureAwait(false);
    }

    private static void StartEventStream(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    private static async Task WriteProblemEventAsync(HttpContext context, ChatProblem problem)
    {
        var details = ChatProblemMapper.ToProblemDetails(problem);
        ProblemDetailsExtensions.AddRequestIds(context, details);
        await WriteEventAsync(context.Response, "error", details, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteEventAsync<T>(HttpResponse response, string name, T data, CancellationToken cancellationToken)
    {
        var payload = JsonSerializer.Serialize(data, Json);
        await response.WriteAsync($"event: {name}\ndata: {payload}\n\n", cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
