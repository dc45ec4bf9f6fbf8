using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

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
    // A step that something records has a name and a state: its span when it has one, which then holds the step's
    // state (failed: status Error and error.type; ended: stopped), so that such a step allocates nothing of its own;
    // without a span (metrics only, or a request that nothing traces) a small object that measures it instead. The
    // default value, a step that nothing records, has no state.
    private readonly object? state;
    private readonly string? name;
    private readonly LlmRequest? request;

    private LlmStep(object state, string name, LlmRequest? request)
    {
        this.state = state;
        this.name = name;
        this.request = request;
    }

    /// <summary>Gets the step's span, or <c>null</c> when nothing records it.</summary>
    public Activity? Activity => this.state is SpanlessStep ? null : Unsafe.As<Activity?>(this.state);

    /// <summary>Gets the step's error type (its first failure), or <c>null</c> while it has not failed.</summary>
    internal string? ErrorType => this.state switch
    {
        Activity activity => activity.GetTagItem(LlmApmTelemetry.Attributes.ErrorType) as string,
        SpanlessStep spanless => spanless.ErrorType,
        _ => null,
    };

    /// <summary>Starts a step of the current request (or a free-standing step when there is none).</summary>
    /// <param name="name">The step name, a bounded value such as <c>preprocessing</c>: it becomes a metric tag.</param>
    /// <returns>The step; dispose it to end it.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LlmStep Start(string name) => Start(name, ActivityKind.Internal, spanName: null, LlmRequest.Current);

    /// <summary>Runs <paramref name="action"/> as a step. An exception that escapes it marks the step and the
    /// request as failed, is recorded on the span and is rethrown unchanged.</summary>
    /// <param name="name">The step name.</param>
    /// <param name="action">The work of the step.</param>
    /// <param name="cancellationToken">The token passed to <paramref name="action"/>.</param>
    /// <returns>A task that completes with the step.</returns>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Task and Task<T> overloads of one operation; the token is optional in both, as in Task.Run.")]
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
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Task and Task<T> overloads of one operation; the token is optional in both, as in Task.Run.")]
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
        if (this.name is null)
        {
            return false;
        }

        var token = callerToken.CanBeCanceled ? callerToken : this.request?.CancellationToken ?? default;
        var type = this.request?.Instrumentation is { } instrumentation
            ? instrumentation.Errors.Classify(exception, token)
            : LlmErrorClassifier.ClassifyBuiltIn(exception, token);
        (this.state as Activity)?.AddException(exception);
        this.Record(type, exception.Message, exception);
        return false;
    }

    /// <summary>Records a failure of the host's own type, without an exception.</summary>
    /// <param name="errorType">The error type, preferably one of <see cref="LlmErrorTypes"/>.</param>
    /// <param name="message">A message; never include prompts or secrets.</param>
    [SuppressMessage("ApiDesign", "RS0027:API with optional parameter(s) should have the most parameters amongst its public overloads", Justification = "The overloads differ in what failed (an exception or a type), not in how many details are given.")]
    public void Fail(string errorType, string? message = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(errorType);
        if (this.name is not null)
        {
            this.Record(errorType, message, exception: null);
        }
    }

    /// <summary>Ends the step. Calling it again does nothing.</summary>
    public void Dispose()
    {
        // The fields are passed rather than the step, so that a step that nothing records stays in registers.
        if (this.state is { } state)
        {
            End(state, this.name!, this.request);
        }
    }

    /// <inheritdoc/>
    public bool Equals(LlmStep other) => ReferenceEquals(this.state, other.state);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is LlmStep other && this.Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => RuntimeHelpers.GetHashCode(this.state);

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

    /// <summary>Starts a step of <paramref name="request"/>, the caller's <see cref="LlmRequest.Current"/> (read
    /// once by a caller that needs it too).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static LlmStep Start(string name, ActivityKind kind, string? spanName, LlmRequest? request)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (request is null
            ? !LlmApmInstruments.Source.HasListeners() && !LlmApmInstruments.StepLatency.Enabled
            : request.Instrumentation is null)
        {
            // Nothing records the step, or LLM-APM is disabled for this host.
            return default;
        }

        return new LlmStep(StartState(name, kind, spanName), name, request);
    }

    /// <summary>The state of a step that something records: its span, or without one a state object of its own that
    /// measures it and keeps its failure.</summary>
    private static object StartState(string name, ActivityKind kind, string? spanName)
    {
        if (LlmApmInstruments.Source.HasListeners()
            && LlmApmInstruments.Source.StartActivity(spanName ?? name, kind) is { } activity)
        {
            activity.SetTag(LlmApmTelemetry.Attributes.StepName, name);
            return activity;
        }

        return new SpanlessStep();
    }

    private static void End(object state, string name, LlmRequest? request)
    {
        string status;
        double seconds;
        if (state is SpanlessStep spanless)
        {
            if (!spanless.TryEnd(out seconds))
            {
                return;
            }

            status = spanless.ErrorType is null ? LlmApmInstruments.StatusOk : LlmApmInstruments.StatusError;
        }
        else
        {
            // The span is the step's state: ended once it is stopped, failed once Fail set its status to Error.
            var activity = Unsafe.As<Activity>(state);
            if (activity.IsStopped)
            {
                return;
            }

            status = activity.Status == ActivityStatusCode.Error ? LlmApmInstruments.StatusError : LlmApmInstruments.StatusOk;
            // The history processor finds the step's request through the span's parents.
            activity.Stop();
            seconds = activity.Duration.TotalSeconds;
        }

        if (LlmApmInstruments.StepLatency.Enabled)
        {
            LlmApmInstruments.StepLatency.Record(seconds, new TagList
            {
                { LlmApmTelemetry.Attributes.TagRoute, request?.RouteTag ?? LlmApmInstruments.NoRoute },
                { LlmApmTelemetry.Attributes.TagStep, name },
                { LlmApmTelemetry.Attributes.TagStatus, status },
            });
        }
    }

    private void Record(string type, string? message, Exception? exception)
    {
        if (this.state is Activity activity)
        {
            // The first failure stands as the step's error.type.
            if (activity.GetTagItem(LlmApmTelemetry.Attributes.ErrorType) is null)
            {
                activity.SetTag(LlmApmTelemetry.Attributes.ErrorType, type);
            }

            activity.SetStatus(ActivityStatusCode.Error, message);
        }
        else
        {
            (this.state as SpanlessStep)?.SetError(type);
        }

        if (this.request is { } request)
        {
            request.MarkFailed(type, message, exception, this.name);
        }
        else
        {
            LlmApmInstruments.CountError(exception, LlmApmInstruments.NoRoute, LlmApmInstruments.UnknownModel, this.name!, type);
        }
    }
}

/// <summary>The state of a step that something records without a span: its clock, its first error, whether it ended.</summary>
internal sealed class SpanlessStep
{
    private readonly long startTimestamp = Stopwatch.GetTimestamp();
    private string? errorType;
    private int ended;

    public string? ErrorType => Volatile.Read(ref this.errorType);

    public void SetError(string type) => Interlocked.CompareExchange(ref this.errorType, type, null);

    /// <summary>Ends the step once: <c>false</c> when it had already ended.</summary>
    public bool TryEnd(out double seconds)
    {
        if (Interlocked.Exchange(ref this.ended, 1) != 0)
        {
            seconds = 0;
            return false;
        }

        seconds = Stopwatch.GetElapsedTime(this.startTimestamp).TotalSeconds;
        return true;
    }
}
