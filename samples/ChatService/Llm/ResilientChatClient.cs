using System.ClientModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using ChatService.Chat;
using ChatService.Configuration;
using LlmApm.Otel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace ChatService.Llm;

/// <summary>
/// Runs each call to the provider through the <see cref="PipelineKey"/> resilience pipeline: a total timeout of
/// <see cref="LlmOptions.TotalTimeout"/> around retries of transient failures (<c>rate_limited</c>,
/// <c>provider_unavailable</c>, <c>network</c>) that wait what the provider's <c>Retry-After</c> asks. It sits outside
/// <c>UseLlmApm()</c>: every attempt is its own <c>llm_api_call</c> step, and each retry an <c>llm.retry</c> event of
/// the request's span. A stream is retried, and cut by the total timeout, only until its first update.
/// </summary>
internal sealed partial class ResilientChatClient(IChatClient innerClient, ResiliencePipeline pipeline) : DelegatingChatClient(innerClient)
{
    /// <summary>The key of the pipeline in the service provider.</summary>
    public const string PipelineKey = "llm-provider";

    private static readonly ResiliencePropertyKey<Call> CallKey = new("ChatService.Llm.Call");

    // The call in progress on this flow, for the error classifier: a cancellation its caller did not ask for is the
    // total timeout cutting an attempt, which the attempt's own step would otherwise take for the caller's cancellation.
    private static readonly AsyncLocal<Call?> Current = new();

    /// <summary>Classifies an attempt cut by the total timeout as <c>timeout</c>; <c>null</c> for anything else.</summary>
    public static string? ClassifyTotalTimeout(Exception exception)
        => exception is OperationCanceledException && Current.Value is { } call && !call.CallerToken.IsCancellationRequested
            ? LlmErrorTypes.Timeout
            : null;

    /// <summary>Builds the pipeline: the total timeout outermost, then the retries (none when <c>Llm:MaxRetries</c> is 0).</summary>
    public static void Configure(ResiliencePipelineBuilder builder, IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<LlmOptions>>().Value;
        var apm = services.GetRequiredService<LlmApmInstrumentation>();
        var time = services.GetRequiredService<TimeProvider>();
        var logger = services.GetRequiredService<ILogger<ResilientChatClient>>();
        builder.TimeProvider = time;
        builder.AddTimeout(new TimeoutStrategyOptions { Timeout = options.TotalTimeout });
        if (options.MaxRetries == 0)
        {
            return;
        }

        builder.AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = options.MaxRetries,
            ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Exception is { } exception && ShouldRetry(exception, args.AttemptNumber + 1, args.Context, options, apm, time, logger)),

            // The wait that ShouldRetry planned and checked against the budget.
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(args.Context.Properties.GetValue(CallKey, null!).PlannedDelay),
            OnRetry = args =>
            {
                var call = args.Context.Properties.GetValue(CallKey, null!);
                call.Request?.Activity?.AddEvent(new ActivityEvent("llm.retry", tags: new ActivityTagsCollection
                {
                    ["llm.retry.attempt"] = args.AttemptNumber + 1,
                    ["llm.retry.delay_ms"] = (long)args.RetryDelay.TotalMilliseconds,
                    ["error.type"] = call.LastErrorType,
                }));
                LogRetry(logger, args.AttemptNumber + 1, call.LastErrorType!, (long)args.RetryDelay.TotalMilliseconds);
                return ValueTask.CompletedTask;
            },
        });
    }

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var call = new Call(LlmRequest.Current, cancellationToken);
        var context = call.Rent();
        Current.Value = call;
        try
        {
            return await pipeline.ExecuteAsync(
                static async (context, state) =>
                {
                    var (inner, messages, options, call) = state;
                    call.Attempt++;
                    var response = await inner.GetResponseAsync(messages, options, context.CancellationToken).ConfigureAwait(false);
                    call.Succeeded();
                    return response;
                },
                context,
                (this.InnerClient, messages, options, call)).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException ex)
        {
            throw Call.TimedOut(ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = new Call(LlmRequest.Current, cancellationToken);
        var context = call.Rent();
        Current.Value = call;
        StartedStream started;
        try
        {
            // An attempt is the stream up to its first update; the pipeline's token lives only as long as the pipeline
            // runs, so each attempt reads with a token of its own that the pipeline cancels while it runs.
            started = await pipeline.ExecuteAsync(
                static async (context, state) =>
                {
                    var (inner, messages, options, call) = state;
                    call.Attempt++;
                    var attempt = CancellationTokenSource.CreateLinkedTokenSource(call.CallerToken);
                    var enumerator = inner.GetStreamingResponseAsync(messages, options, attempt.Token).GetAsyncEnumerator(attempt.Token);
                    try
                    {
                        bool any;
                        using (context.CancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), attempt))
                        {
                            any = await enumerator.MoveNextAsync().ConfigureAwait(false);
                        }

                        call.Succeeded();
                        return new StartedStream(enumerator, attempt, any);
                    }
                    catch
                    {
                        await enumerator.DisposeAsync().ConfigureAwait(false);
                        attempt.Dispose();
                        throw;
                    }
                },
                context,
                (this.InnerClient, messages, options, call)).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException ex)
        {
            throw Call.TimedOut(ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        using var attemptToken = started.Token;
        var stream = started.Enumerator;
        try
        {
            for (var more = started.Any; more; more = await stream.MoveNextAsync().ConfigureAwait(false))
            {
                yield return stream.Current;
            }
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The provider's wait: <c>retry-after-ms</c>, else <c>Retry-After</c> (seconds or an HTTP date).</summary>
    internal static TimeSpan? RetryAfterOf(Exception exception, DateTimeOffset now)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is not ClientResultException result || result.GetRawResponse() is not { } response)
            {
                continue;
            }

            if (response.Headers.TryGetValue("retry-after-ms", out var ms)
                && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds >= 0)
            {
                return TimeSpan.FromMilliseconds(milliseconds);
            }

            if (response.Headers.TryGetValue("Retry-After", out var value) && !string.IsNullOrWhiteSpace(value))
            {
                if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
                {
                    return TimeSpan.FromSeconds(Math.Min(seconds, TimeSpan.MaxValue.TotalSeconds / 2));
                }

                if (DateTimeOffset.TryParseExact(value.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
                {
                    return date > now ? date - now : TimeSpan.Zero;
                }
            }
        }

        return null;
    }

    /// <summary>Whether to retry after <paramref name="attempt"/> failed, and after what wait: the provider's
    /// <c>Retry-After</c>, else an exponential backoff with jitter; never a wait that would end past the total timeout
    /// (the provider's answer, a 429 with its <c>Retry-After</c>, then goes back at once).</summary>
    private static bool ShouldRetry(
        Exception exception, int attempt, ResilienceContext context, LlmOptions options, LlmApmInstrumentation apm, TimeProvider time, ILogger logger)
    {
        var call = context.Properties.GetValue(CallKey, null!);
        if (call.CallerToken.IsCancellationRequested || exception is ChatFailureException or TimeoutRejectedException)
        {
            return false;
        }

        var type = apm.ClassifyError(exception, call.CallerToken);
        if (type is not (LlmErrorTypes.RateLimited or LlmErrorTypes.ProviderUnavailable or LlmErrorTypes.Network))
        {
            return false;
        }

        var delay = RetryAfterOf(exception, time.GetUtcNow()) ?? Backoff(options.RetryBaseDelay, attempt);
        if (Stopwatch.GetElapsedTime(call.Started) + delay >= options.TotalTimeout)
        {
            LogGiveUp(logger, attempt, type, (long)delay.TotalMilliseconds);
            return false;
        }

        call.PlannedDelay = delay;
        call.LastErrorType = type;
        return true;
    }

    private static TimeSpan Backoff(TimeSpan baseDelay, int attempt)
    {
        var nominal = baseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1);
#pragma warning disable CA5394 // Jitter needs no cryptographic randomness.
        var jittered = nominal * (0.5 + (Random.Shared.NextDouble() / 2));
#pragma warning restore CA5394
        return TimeSpan.FromMilliseconds(Math.Min(jittered, 30_000));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "LLM call attempt {Attempt} failed ({ErrorType}); retrying in {DelayMs} ms")]
    private static partial void LogRetry(ILogger logger, int attempt, string errorType, long delayMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "LLM call attempt {Attempt} failed ({ErrorType}); no retry: a wait of {DelayMs} ms does not end within Llm:TotalTimeout")]
    private static partial void LogGiveUp(ILogger logger, int attempt, string errorType, long delayMs);

    private readonly record struct StartedStream(IAsyncEnumerator<ChatResponseUpdate> Enumerator, CancellationTokenSource Token, bool Any);

    /// <summary>One call through the pipeline, all its attempts.</summary>
    private sealed class Call(LlmRequest? request, CancellationToken callerToken)
    {
        private readonly bool failedBefore = request?.ErrorType is not null;

        public LlmRequest? Request { get; } = request;

        public CancellationToken CallerToken { get; } = callerToken;

        public long Started { get; } = Stopwatch.GetTimestamp();

        public int Attempt { get; set; }

        public TimeSpan PlannedDelay { get; set; }

        public string? LastErrorType { get; set; }

        public static TimeoutException TimedOut(TimeoutRejectedException exception)
            => new("The call to the provider did not finish within Llm:TotalTimeout.", exception);

        public ResilienceContext Rent()
        {
            var context = ResilienceContextPool.Shared.Get(this.CallerToken);
            context.Properties.Set(CallKey, this);
            return context;
        }

        /// <summary>A call that succeeded after failed attempts no longer fails the request: its failed attempts stay
        /// failed steps, counted in <c>llm_errors_total</c>, but the request ends <c>ok</c>.</summary>
        public void Succeeded()
        {
            if (this.Attempt > 1 && !this.failedBefore)
            {
                this.Request?.Recover();
            }
        }
    }
}
