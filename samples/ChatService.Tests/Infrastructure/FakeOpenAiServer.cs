using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatService.Tests.Infrastructure;

/// <summary>What the fake OpenAI-compatible server answers (public: a test theory parameter).</summary>
public enum FakeBehavior
{
    Ok,
    Unauthorized,
    RateLimited,
    ContextLengthExceeded,
    ContentFilter,
    InternalError,
    Unavailable,
    Slow,
    StreamCut,
    MalformedJson,
    SlowStream,
}

/// <summary>
/// An OpenAI-compatible chat completions server on 127.0.0.1 (Kestrel, port 0), for the real OpenAI and Azure OpenAI
/// clients: <c>/v1/chat/completions</c> and <c>/openai/deployments/{deployment}/chat/completions</c>, streaming and not,
/// with usage, and the failures of <see cref="FakeBehavior"/>. It keeps every request it received, and counts the
/// connections opened and closed and the requests in flight. <see cref="Script"/> gives the behavior of the next
/// requests, one each, before <see cref="Behavior"/>.
/// </summary>
internal sealed class FakeOpenAiServer : IAsyncDisposable
{
    public const string Reply = "Hello from the fake model. It answers in four chunks.";
    public const string ResponseModel = "gpt-4o-mini-2024-07-18";
    public const int PromptTokens = 31;
    public const int CompletionTokens = 12;
    public const int CachedTokens = 8;
    public const int RetryAfterSeconds = 7;

    private readonly WebApplication app;
    private int openedConnections;
    private int closedConnections;
    private int inFlight;

    private FakeOpenAiServer(WebApplication app, Uri baseAddress)
    {
        this.app = app;
        this.BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public FakeBehavior Behavior { get; set; } = FakeBehavior.Ok;

    public ConcurrentQueue<FakeBehavior> Script { get; } = new();

    public int RetryAfter { get; set; } = RetryAfterSeconds;

    public int OpenedConnections => Volatile.Read(ref this.openedConnections);

    public int ClosedConnections => Volatile.Read(ref this.closedConnections);

    public int InFlight => Volatile.Read(ref this.inFlight);

    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(5);

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public static async Task<FakeOpenAiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        FakeOpenAiServer? server = null;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => async connection =>
        {
            Interlocked.Increment(ref server!.openedConnections);
            try
            {
                await next(connection);
            }
            finally
            {
                Interlocked.Increment(ref server.closedConnections);
            }
        })));
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", (HttpContext context) => server!.HandleAsync(context));
        app.MapPost("/openai/deployments/{deployment}/chat/completions", (HttpContext context) => server!.HandleAsync(context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new FakeOpenAiServer(app, new Uri(address));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await this.app.StopAsync();
        await this.app.DisposeAsync();
    }

    private static string ErrorBody(string message, string? type, string? code, string? param = null)
        => JsonSerializer.Serialize(new { error = new { message, type, param, code } });

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref this.inFlight);
        try
        {
            await this.HandleOneAsync(context, this.Script.TryDequeue(out var next) ? next : this.Behavior);
        }
        finally
        {
            Interlocked.Decrement(ref this.inFlight);
        }
    }

    private async Task HandleOneAsync(HttpContext context, FakeBehavior behavior)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        this.Received.Enqueue(new ReceivedRequest(context.Request.Path, context.Request.QueryString.Value ?? string.Empty, headers, body));
        var json = JsonNode.Parse(body)!;
        var stream = json["stream"]?.GetValue<bool>() == true;
        var key = headers.TryGetValue("api-key", out var k) ? k : headers.GetValueOrDefault("Authorization", string.Empty).Replace("Bearer ", string.Empty, StringComparison.Ordinal);

        switch (behavior)
        {
            case FakeBehavior.Unauthorized:
                // OpenAI quotes a masked form of the key it was given.
                var masked = key.Length > 8 ? $"{key[..4]}****{key[^4..]}" : "****";
                await WriteErrorAsync(context, 401, ErrorBody($"Incorrect API key provided: {masked}.", "invalid_request_error", "invalid_api_key"));
                return;
            case FakeBehavior.RateLimited:
                context.Response.Headers.RetryAfter = this.RetryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await WriteErrorAsync(context, 429, ErrorBody("Rate limit reached for requests. Please try again in 7s.", "requests", "rate_limit_exceeded"));
                return;
            case FakeBehavior.ContextLengthExceeded:
                await WriteErrorAsync(context, 400, ErrorBody(
                    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
                    "invalid_request_error",
                    "context_length_exceeded",
                    "messages"));
                return;
            case FakeBehavior.ContentFilter:
                await WriteErrorAsync(context, 400, JsonSerializer.Serialize(new
                {
                    error = new
                    {
                        message = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
                        type = (string?)null,
                        param = "prompt",
                        code = "content_filter",
                        status = 400,
                        innererror = new { code = "ResponsibleAIPolicyViolation" },
                    },
                }));
                return;
            case FakeBehavior.InternalError:
                await WriteErrorAsync(context, 500, ErrorBody("The server had an error while processing your request.", "server_error", null));
                return;
            case FakeBehavior.Unavailable:
                await WriteErrorAsync(context, 503, ErrorBody("The engine is currently overloaded, please try again later.", "server_error", null));
                return;
            case FakeBehavior.Slow:
                await Task.Delay(this.SlowDelay, context.RequestAborted);
                break;
            case FakeBehavior.MalformedJson:
                context.Response.ContentType = stream ? "text/event-stream" : "application/json";
                await context.Response.WriteAsync(stream ? "data: {\"id\": \"chatcmpl-x\", \"choices\": [\n\n" : "{\"id\": \"chatcmpl-x\", \"choices\": [ {\"index\": 0, \"message\": ", context.RequestAborted);
                return;
        }

        if (stream)
        {
            await this.WriteStreamAsync(context, behavior);
        }
        else if (behavior == FakeBehavior.StreamCut)
        {
            // A body cut in the middle: Content-Length promises more than arrives, then the connection drops.
            var full = Encoding.UTF8.GetBytes(Completion());
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = full.Length;
            await context.Response.Body.WriteAsync(full.AsMemory(0, full.Length / 2), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(200, context.RequestAborted);
            context.Abort();
        }
        else
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(Completion(), context.RequestAborted);
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    private static object Usage() => new
    {
        prompt_tokens = PromptTokens,
        completion_tokens = CompletionTokens,
        total_tokens = PromptTokens + CompletionTokens,
        prompt_tokens_details = new { cached_tokens = CachedTokens },
        completion_tokens_details = new { reasoning_tokens = 0 },
    };

    private static string Completion() => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-fake-1",
        @object = "chat.completion",
        created = 1_764_000_000,
        model = ResponseModel,
        choices = new[] { new { index = 0, message = new { role = "assistant", content = Reply }, finish_reason = "stop" } },
        usage = Usage(),
    });

    private static string Chunk(object delta, string? finishReason) => JsonSerializer.Serialize(new
    {
        id = "chatcmpl-fake-1",
        @object = "chat.completion.chunk",
        created = 1_764_000_000,
        model = ResponseModel,
        choices = new[] { new { index = 0, delta, finish_reason = finishReason } },
    });

    private async Task WriteStreamAsync(HttpContext context, FakeBehavior behavior)
    {
        context.Response.ContentType = "text/event-stream";
        async Task SendAsync(string data)
        {
            await context.Response.WriteAsync($"data: {data}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }

        await SendAsync(Chunk(new { role = "assistant", content = string.Empty }, null));
        if (behavior == FakeBehavior.SlowStream)
        {
            // A long answer, a word every 20 ms, until the client goes away (then RequestAborted ends it).
            for (var i = 0; i < 1000; i++)
            {
                await SendAsync(Chunk(new { content = $"word{i} " }, null));
                await Task.Delay(20, context.RequestAborted);
            }
        }

        var words = Reply.Split(' ');
        var pieces = new[] { string.Join(' ', words[..3]) + " ", string.Join(' ', words[3..6]) + " ", string.Join(' ', words[6..8]) + " ", string.Join(' ', words[8..]) };
        for (var i = 0; i < pieces.Length; i++)
        {
            await SendAsync(Chunk(new { content = pieces[i] }, null));
            if (behavior == FakeBehavior.StreamCut && i == 1)
            {
                // Let the chunks reach the client before the connection drops.
                await Task.Delay(200, context.RequestAborted);
                context.Abort();
                return;
            }
        }

        await SendAsync(Chunk(new { }, "stop"));
        await SendAsync(JsonSerializer.Serialize(new
        {
            id = "chatcmpl-fake-1",
            @object = "chat.completion.chunk",
            created = 1_764_000_000,
            model = ResponseModel,
            choices = Array.Empty<object>(),
            usage = Usage(),
        }));
        await SendAsync("[DONE]");
    }
}

/// <summary>A request the fake server received.</summary>
internal sealed record ReceivedRequest(string Path, string Query, Dictionary<string, string> Headers, string Body)
{
    public JsonNode Json => JsonNode.Parse(this.Body)!;
}
