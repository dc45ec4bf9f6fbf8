using System.Text.Json;
using LlmApm.Otel.History;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Scores over HTTP (docs/api.md): <c>POST api/requests/{id}/scores</c>, for a host's UI (the dashboard's
/// thumbs up and down), and <c>GET api/feedback</c>, the feedback ratio by route and model.</summary>
internal static class LlmApmScoresApi
{
    /// <summary>The largest body: a score with the longest comment fits several times over.</summary>
    internal const int MaxBodyBytes = 16 * 1024;

    private static readonly LlmApmAspNetCoreJsonContext Json = LlmApmAspNetCoreJsonContext.Default;

    private static readonly (string Name, TimeSpan Length)[] Windows =
    [
        ("1m", TimeSpan.FromMinutes(1)),
        ("5m", TimeSpan.FromMinutes(5)),
        ("1h", TimeSpan.FromHours(1)),
        ("24h", TimeSpan.FromHours(24)),
    ];

    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapPost("/requests/{id}/scores", PostAsync)
            .WithName("LlmApmAddScore")
            .WithSummary("Adds a score (user feedback, an annotation) to a finished request.")
            .WithMetadata(new LlmApmRequestBody(typeof(LlmApmScoreInput)))
            .Produces<LlmApmWireScore>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        api.MapGet("/feedback", IResult (HttpContext context, string? window) =>
            {
                window = string.IsNullOrEmpty(window) ? "5m" : window;
                var match = Array.FindIndex(Windows, w => string.Equals(w.Name, window, StringComparison.Ordinal));
                if (match < 0)
                {
                    return LlmApmProblems.BadRequest(context, "'window' must be one of 1m, 5m, 1h, 24h.");
                }

                var to = (context.RequestServices.GetService(typeof(TimeProvider)) as TimeProvider ?? TimeProvider.System).GetUtcNow();
                var from = to - Windows[match].Length;
                try
                {
                    var records = LlmApmHistoryApi.Instrumentation(context).History.Since(from);
                    return TypedResults.Json(LlmApmFeedback.Create(window, from, to, records), Json.LlmApmFeedback);
                }
                catch (LlmHistoryUnavailableException ex)
                {
                    return LlmApmProblems.HistoryUnavailable(context, ex.Message);
                }
            })
            .WithName("LlmApmFeedback")
            .WithSummary("User feedback (the user_feedback score) of the requests in a window, by route and model.")
            .Produces<LlmApmFeedback>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static async Task<IResult> PostAsync(HttpContext context, string id)
    {
        // JSON only: a cross-site form cannot send it without a preflight, so a page elsewhere cannot score for a user.
        if (!context.Request.HasJsonContentType())
        {
            return UnsupportedMediaType(context);
        }

        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return LlmApmProblems.BadRequest(context, $"The body must be at most {MaxBodyBytes} bytes.");
        }

        LlmApmScoreInput? input;
        try
        {
            using var limited = new LimitedStream(context.Request.Body, MaxBodyBytes);
            input = await JsonSerializer.DeserializeAsync(limited, Json.LlmApmScoreInput, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return LlmApmProblems.BadRequest(context, "The body is not a score: " + ex.Message);
        }
        catch (InvalidDataException ex)
        {
            return LlmApmProblems.BadRequest(context, ex.Message);
        }

        if (!TryCreate(input, out var score, out var error))
        {
            return LlmApmProblems.BadRequest(context, error);
        }

        try
        {
            return LlmApmHistoryApi.Instrumentation(context).AddScore(id, score)
                ? TypedResults.Json(LlmApmWireScore.From(score), Json.LlmApmWireScore, statusCode: StatusCodes.Status201Created)
                : LlmApmProblems.NotFound(context, "No request with this id is in the history.");
        }
        catch (LlmHistoryUnavailableException ex)
        {
            return LlmApmProblems.HistoryUnavailable(context, ex.Message);
        }
        catch (NotSupportedException ex)
        {
            return LlmApmProblems.Create(context, StatusCodes.Status501NotImplemented, "Scores are not kept.", ex.Message);
        }
    }

    /// <summary>The JSON body of an endpoint for the OpenAPI document only. <c>Accepts()</c> would also make routing
    /// refuse any other content type, and the API's catch-all would then answer 404 instead of this endpoint's 415.</summary>
    internal sealed record LlmApmRequestBody(Type Type);

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult UnsupportedMediaType(HttpContext context)
        => LlmApmProblems.Create(context, StatusCodes.Status415UnsupportedMediaType, "Unsupported media type.", "The body must be application/json.");

    /// <summary>Maps the body to a score: exactly one of <c>boolean</c>, <c>value</c> or (alone) <c>label</c>.</summary>
    internal static bool TryCreate(LlmApmScoreInput? input, out LlmScore score, out string error)
    {
        score = null!;
        error = string.Empty;
        if (input is null)
        {
            error = "The body must be a JSON object.";
            return false;
        }

        LlmScorePolarity? polarity = input.Polarity switch
        {
            null => null,
            "positive" => LlmScorePolarity.Positive,
            "negative" => LlmScorePolarity.Negative,
            "neutral" => LlmScorePolarity.Neutral,
            _ => (LlmScorePolarity)(-1),
        };
        if (polarity is (LlmScorePolarity)(-1))
        {
            error = "'polarity' must be 'positive', 'negative' or 'neutral'.";
            return false;
        }

        try
        {
            if (input.Boolean is { } yes)
            {
                if (input.Value is not null)
                {
                    error = "Give one of 'boolean', 'value' or 'label' alone ('value' may have a 'label').";
                    return false;
                }

                score = LlmScore.Boolean(input.Name ?? string.Empty, yes, input.Comment, input.Source, polarity);
            }
            else if (input.Value is { } value)
            {
                score = LlmScore.Numeric(input.Name ?? string.Empty, value, input.Label, input.Comment, input.Source, polarity ?? LlmScorePolarity.Neutral);
            }
            else if (!string.IsNullOrWhiteSpace(input.Label))
            {
                score = LlmScore.Categorical(input.Name ?? string.Empty, input.Label, input.Comment, input.Source, polarity ?? LlmScorePolarity.Neutral);
            }
            else
            {
                error = "A score needs 'boolean', 'value' or 'label'.";
                return false;
            }
        }
        catch (ArgumentException ex)
        {
            error = ex.Message.Split(" (Parameter", 2)[0];
            return false;
        }

        return true;
    }

    /// <summary>Reads at most a number of bytes, so that a body without a length cannot be larger.</summary>
    private sealed class LimitedStream(Stream inner, long limit) : Stream
    {
        private long read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => this.read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => this.Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            => this.Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => this.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int n)
        {
            this.read += n;
            return this.read > limit ? throw new InvalidDataException($"The body must be at most {limit} bytes.") : n;
        }
    }
}
