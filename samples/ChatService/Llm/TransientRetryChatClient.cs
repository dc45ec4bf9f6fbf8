using System.ClientModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using ChatService.Chat;
using ChatService.Configuration;
using LlmApm.Otel;
using Microsoft.Extensions.AI;

namespace ChatService.Llm;

/// <summary>
/// Retries a call to the provider that failed transiently — <c>rate_limited</c> (429), <c>provider_unavailable</c>
/// (5xx) or <c>network</c> — at most <see cref="LlmOptions.MaxRetries"/> times, waiting what the provider's
/// <c>retry-after-ms</c> or <c>Retry-After</c> asks, else an exponential backoff with jitter from
/// <see cref="LlmOptions.RetryBaseDelay"/>. A retry is made only when its wait plus a whole <see cref="LlmOptions.Timeout"/>
/// still fit in <see cref="LlmOptions.TotalTimeout"/> from the first attempt. A stream is retried only when it failed
/// before its first update. It sits outside <c>UseLlmApm()</c>: every attempt is its own <c>llm_api_call</c> step
/// with its own span, tokens and cost, and each retry adds an <c>llm.retry</c> event to the request's span.
/// </summary>
internal sealed partial class TransientRetryChatClient(
    IChatClient innerClient,
    LlmOptions options,
    LlmErrorClassifier classifier,
    TimeProvider time,
    ILogger<TransientRetryChatClient> logger) : DelegatingChatClient(innerClient)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var started = time.GetTimestamp();
        var request = LlmRequest.Current;
        var failedBefore = request?.ErrorType is not null;
        for (var attempt = 1; ; attempt++)
        {
            TimeSpan delay;
            try
            {
                var response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
                Recovered(request, attempt, failedBefore);
                return response;
            }
            catch (Exception ex) when (this.ShouldRetry(ex, attempt, started, cancellationToken, out delay))
            {
            }

            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var started = time.GetTimestamp();
        var request = LlmRequest.Current;
        var failedBefore = request?.ErrorType is not null;
        for (var attempt = 1; ; attempt++)
        {
            var delay = TimeSpan.Zero;
            var retry = false;
            var enumerator = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                var yielded = false;
                while (true)
                {
                    bool moved;
                    try
                    {
                        moved = await enumerator.MoveNextAsync().ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!yielded && this.ShouldRetry(ex, attempt, started, cancellationToken, out delay))
                    {
                        retry = true;
                        break;
                    }

                    if (!moved)
                    {
                        break;
                    }

                    if (!yielded)
                    {
                        yielded = true;
                        Recovered(request, attempt, failedBefore);
                    }

                    yield return enumerator.Current;
                }
            }
            finally
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }

            if (!retry)
            {
                yield break;
            }

            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The wait the provider asked for: <c>retry-after-ms</c>, else <c>Retry-After</c> (seconds or an HTTP date).</summary>
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
                    return TimeSpan.FromSeconds(seconds);
                }

                if (DateTimeOffset.TryParseExact(value.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
                {
                    return date > now ? date - now : TimeSpan.Zero;
                }
            }
        }

        return null;
    }

    /// <summary>A retried call that then succeeded no longer fails the request: its failed attempts stay failed steps,
    /// counted in <c>llm_errors_total</c>, but the request ends <c>ok</c>.</summary>
    private static void Recovered(LlmRequest? request, int attempt, bool failedBefore)
    {
        if (attempt > 1 && request is not null && !failedBefore)
        {
            request.Recover();
        }
    }

    private bool ShouldRetry(Exception exception, int attempt, long started, CancellationToken cancellationToken, out TimeSpan delay)
    {
        delay = TimeSpan.Zero;
        if (attempt > options.MaxRetries || cancellationToken.IsCancellationRequested || exception is ChatFailureException)
        {
            return false;
        }

        var type = classifier.Classify(exception, cancellationToken);
        if (type is not (LlmErrorTypes.RateLimited or LlmErrorTypes.ProviderUnavailable or LlmErrorTypes.Network))
        {
            return false;
        }

        delay = RetryAfterOf(exception, time.GetUtcNow()) ?? this.Backoff(attempt);
        var elapsed = time.GetElapsedTime(started);
        if (elapsed + delay + options.Timeout > options.TotalTimeout)
        {
            // The provider asks for a longer wait than the budget leaves: its answer (429 and Retry-After) goes back.
            LogGiveUp(logger, attempt, type, (long)delay.TotalMilliseconds);
            return false;
        }

        Activity.Current?.AddEvent(new ActivityEvent("llm.retry", tags: new ActivityTagsCollection
        {
            ["llm.retry.attempt"] = attempt,
            ["llm.retry.delay_ms"] = (long)delay.TotalMilliseconds,
            ["error.type"] = type,
        }));
        LogRetry(logger, attempt, type, (long)delay.TotalMilliseconds);
        return true;
    }

    private TimeSpan Backoff(int attempt)
    {
        var nominal = options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1);
#pragma warning disable CA5394 // Jitter needs no cryptographic randomness.
        var jittered = nominal * (0.5 + (Random.Shared.NextDouble() / 2));
#pragma warning restore CA5394
        return TimeSpan.FromMilliseconds(Math.Min(jittered, MaxBackoff.TotalMilliseconds));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "LLM call attempt {Attempt} failed ({ErrorType}); retrying in {DelayMs} ms")]
    private static partial void LogRetry(ILogger logger, int attempt, string errorType, long delayMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "LLM call attempt {Attempt} failed ({ErrorType}); no retry: a wait of {DelayMs} ms does not fit Llm:TotalTimeout")]
    private static partial void LogGiveUp(ILogger logger, int attempt, string errorType, long delayMs);
}
