using System.Diagnostics;

namespace LlmApm.Otel;

/// <summary>
/// A step of an LLM request: a child span of the request and an <c>llm.step.latency</c> observation.
/// </summary>
/// <example>
/// <code>
/// using var step = LlmStep.Start("preprocessing");
/// try { ... }
/// catch (Exception ex) when (step.Fail(ex)) { }   // records the failure, never catches
///
/// var reply = await LlmStep.RunAsync("saving", ct => store.SaveAsync(conversation, ct), cancellationToken);
/// </code>
/// A C# <c>using</c> cannot see an exception that leaves its block: the scope form records a failure through
/// <see cref="Fail(Exception)"/> (an exception filter keeps the stack and rethrows nothing), the delegate form
/// <see cref="RunAsync(string, Func{CancellationToken, Task}, CancellationToken)"/> records it by itself.
/// </example>
public readonly struct LlmStep : IDisposable, IEquatable<LlmStep>
{
    private readonly StepScope? scope;

    private LlmStep(StepScope scope) => this.scope = scope;

    /// <summary>Gets the step's span, or <c>null</c> when nothing records it.</summary>
    public Activity? Activity => this.scope?.Activity;

    /// <summary>Starts a step of the current request (or a free-standing step when there is none).</summary>
    /// <param name="name">The step name, a bounded value such as <c>preprocessing</c>: it becomes a metric tag.</param>
    /// <returns>The step; dispose it to end it.</returns>
    public static LlmStep Start(string name) => Start(name, ActivityKind.Internal, spanName: null);

    /// <summary>Runs <paramref name="action"/> as a step. An exception that escapes it marks the step and the
    /// request as failed, is recorded on the span and is rethrown unchanged.</summary>
    /// <param name="name">The step name.</param>
    /// <param name="action">The work of the step.</param>
    /// <param name="cancellationToken">The token passed to <paramref name="action"/>.</param>
    /// <returns>A task that completes with the step.</returns>
    public static async Task RunAsync(string name, Func<CancellationToken, Task> action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        using var step = Start(name);
        try
        {
            await action(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (step.Fail(ex, cancellationToken))
        {
            throw; // Never reached: the filter returns false.
        }
    }

    /// <summary>Runs <paramref name="action"/> as a step and returns its result. An exception that escapes it marks the
    /// step and the request as failed, is recorded on the span and is rethrown unchanged.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="name">The step name.</param>
    /// <param name="action">The work of the step.</param>
    /// <param name="cancellationToken">The token passed to <paramref name="action"/>.</param>
    /// <returns>The result of <paramref name="action"/>.</returns>
    public static async Task<T> RunAsync<T>(string name, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        using var step = Start(name);
        try
        {
            return await action(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (step.Fail(ex, cancellationToken))
        {
            throw; // Never reached: the filter returns false.
        }
    }

    /// <summary>Records <paramref name="exception"/> as the step's failure, and the request's. Returns <c>false</c>
    /// so that it can stand in an exception filter: <c>catch (Exception ex) when (step.Fail(ex)) { }</c>.</summary>
    /// <param name="exception">The failure.</param>
    /// <returns>Always <c>false</c>.</returns>
    public bool Fail(Exception exception) => this.Fail(exception, default);

    /// <summary>Records <paramref name="exception"/> as the step's failure, classifying a cancellation of
    /// <paramref name="callerToken"/> as <c>cancelled</c>.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="callerToken">The caller's token.</param>
    /// <returns>Always <c>false</c>.</returns>
    public bool Fail(Exception exception, CancellationToken callerToken)
    {
        ArgumentNullException.ThrowIfNull(exception);
        this.scope?.Fail(exception, callerToken);
        return false;
    }

    /// <summary>Records a failure of the host's own type, without an exception.</summary>
    /// <param name="errorType">The error type, preferably one of <see cref="LlmErrorTypes"/>.</param>
    /// <param name="message">A message; never include prompts or secrets.</param>
    public void Fail(string errorType, string? message = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(errorType);
        this.scope?.Fail(errorType, message);
    }

    /// <summary>Ends the step.</summary>
    public void Dispose() => this.scope?.End();

    /// <inheritdoc/>
    public bool Equals(LlmStep other) => ReferenceEquals(this.scope, other.scope);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is LlmStep other && this.Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => this.scope?.GetHashCode() ?? 0;

    /// <summary>Compares two steps.</summary>
    /// <param name="left">The first step.</param>
    /// <param name="right">The second step.</param>
    /// <returns>Whether both are the same step.</returns>
    public static bool operator ==(LlmStep left, LlmStep right) => left.Equals(right);

    /// <summary>Compares two steps.</summary>
    /// <param name="left">The first step.</param>
    /// <param name="right">The second step.</param>
    /// <returns>Whether they are different steps.</returns>
    public static bool operator !=(LlmStep left, LlmStep right) => !left.Equals(right);

    internal static LlmStep Start(string name, ActivityKind kind, string? spanName)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var request = LlmRequest.Current;
        if (request is { Instrumentation: null })
        {
            // LLM-APM is disabled for this host.
            return default;
        }

        var listened = LlmApmInstruments.Source.HasListeners();
        if (!listened && !LlmApmInstruments.StepLatency.Enabled && request is null)
        {
            return default;
        }

        return new LlmStep(new StepScope(name, request, listened ? StartActivity(name, kind, spanName) : null));
    }

    internal StepScope? Scope => this.scope;

    private static Activity? StartActivity(string name, ActivityKind kind, string? spanName)
    {
        var activity = LlmApmInstruments.Source.StartActivity(spanName ?? name, kind);
        activity?.SetTag(LlmApmTelemetry.Attributes.StepName, name);
        return activity;
    }
}

/// <summary>The state of a step that something records.</summary>
internal sealed class StepScope
{
    private readonly long startTimestamp;
    private string? errorType;
    private int ended;

    public StepScope(string name, LlmRequest? request, Activity? activity)
    {
        this.Name = name;
        this.Request = request;
        this.Activity = activity;

        // A span measures its own duration: a second clock is only read when there is none.
        this.startTimestamp = activity is null ? Stopwatch.GetTimestamp() : 0;
    }

    public string Name { get; }

    public LlmRequest? Request { get; }

    public Activity? Activity { get; }

    public string? ErrorType => this.errorType;

    public void Fail(Exception exception, CancellationToken callerToken)
    {
        var token = callerToken.CanBeCanceled ? callerToken : this.Request?.CancellationToken ?? default;
        var type = this.Request?.Instrumentation is { } instrumentation
            ? instrumentation.Errors.Classify(exception, token)
            : LlmErrorClassifier.ClassifyBuiltIn(exception, token);
        this.Activity?.AddException(exception);
        this.Record(type, exception.Message, exception);
    }

    public void Fail(string type, string? message) => this.Record(type, message, exception: null);

    public void End()
    {
        if (Interlocked.Exchange(ref this.ended, 1) != 0)
        {
            return;
        }

        var status = this.errorType is null ? LlmApmInstruments.StatusOk : LlmApmInstruments.StatusError;
        double seconds;
        if (this.Activity is { } activity)
        {
            activity.Stop();
            seconds = activity.Duration.TotalSeconds;
        }
        else
        {
            seconds = Stopwatch.GetElapsedTime(this.startTimestamp).TotalSeconds;
        }

        if (LlmApmInstruments.StepLatency.Enabled)
        {
            LlmApmInstruments.StepLatency.Record(seconds, new TagList
            {
                { LlmApmTelemetry.Attributes.TagRoute, this.Request?.RouteTag ?? LlmApmInstruments.NoRoute },
                { LlmApmTelemetry.Attributes.TagStep, this.Name },
                { LlmApmTelemetry.Attributes.TagStatus, status },
            });
        }
    }

    private void Record(string type, string? message, Exception? exception)
    {
        this.errorType ??= type;
        if (this.Activity is { } activity)
        {
            activity.SetTag(LlmApmTelemetry.Attributes.ErrorType, this.errorType);
            activity.SetStatus(ActivityStatusCode.Error, message);
        }

        if (this.Request is { } request)
        {
            request.MarkFailed(type, message, exception, this.Name);
        }
        else
        {
            LlmApmInstruments.CountError(exception, LlmApmInstruments.NoRoute, LlmApmInstruments.UnknownModel, this.Name, type);
        }
    }
}
