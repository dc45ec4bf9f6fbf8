using System.Diagnostics;
using LlmApm.Otel.History;

namespace LlmApm.Otel;

/// <summary>
/// One LLM interaction: an HTTP request to an LLM endpoint, or a unit of work in a worker. Steps, token usage,
/// cost and errors recorded while it is <see cref="Current"/> attach to it. Start one with
/// <see cref="LlmApmInstrumentation.StartRequest"/> and finish it with <see cref="Dispose"/>.
/// </summary>
/// <remarks>The request is ambient: it flows across <c>await</c> to everything the code that started it calls, and
/// requests running side by side never see each other's steps, usage or cost.</remarks>
public sealed class LlmRequest : IDisposable
{
    private static readonly AsyncLocal<LlmRequest?> Ambient = new();

    private readonly LlmApmInstrumentation? instrumentation;
    private readonly LlmRequest? previous;
    private readonly long startTimestamp;
    private readonly long startTicks;
    private readonly Lock sync = new();
    private long inputTokens;
    private long outputTokens;
    private long cachedInputTokens;
    private long cacheWriteInputTokens;
    private long reasoningTokens;
    private bool estimated;
    private decimal cost;
    private bool unpriced;
    private string? errorType;
    private LlmRequestText? text;
    private int ended;
    private List<LlmScore>? scores;
    private bool scoresTaken;
    private string? userId;
    private string? tenantId;
    private Dictionary<string, string>? properties;
    private readonly LlmStepBuffer? history;

    internal LlmRequest(LlmApmInstrumentation? instrumentation, string route, string? conversationId, CancellationToken cancellationToken)
    {
        this.instrumentation = instrumentation;
        this.Route = string.IsNullOrEmpty(route) ? LlmApmInstruments.NoRoute : route;
        this.RouteTag = this.Route;
        this.ConversationId = conversationId;
        this.CancellationToken = cancellationToken;
        if (instrumentation is null)
        {
            this.startTicks = DateTime.UtcNow.Ticks;
            this.startTimestamp = Stopwatch.GetTimestamp();
            this.Id = string.Empty;
            return;
        }

        this.RouteTag = instrumentation.Routes.Tag(this.Route, out var spanName);
        this.Activity = LlmApmInstruments.Source.StartActivity(spanName, ActivityKind.Internal);

        // The span's start is the request's, and Dispose ends the span at the elapsed time it measures: two clock
        // reads fewer per request and 8 B less, and the span's duration is the llm.request.latency recorded.
        this.startTicks = this.Activity?.StartTimeUtc.Ticks ?? DateTime.UtcNow.Ticks;
        this.startTimestamp = Stopwatch.GetTimestamp();
        this.Id = ActivityTraceId.CreateRandom().ToHexString();
        if (this.Activity is { } activity)
        {
            activity.SetTag(LlmApmTelemetry.Attributes.RequestId, this.Id);
            activity.SetTag(LlmApmTelemetry.Attributes.Route, this.Route);
            if (conversationId is not null)
            {
                activity.SetTag(GenAiConventions.ConversationId, conversationId);
            }

            // The history processor, when one records this instrumentation's requests, finds the request by its span.
            if (instrumentation.OpenRequests is { } open)
            {
                this.history = new LlmStepBuffer(this);
                open.Open(activity, this.history);
            }
        }

        LlmApmInstruments.RequestsActive.Add(1, new KeyValuePair<string, object?>(LlmApmTelemetry.Attributes.TagRoute, this.RouteTag));
        this.previous = Ambient.Value;
        Ambient.Value = this;
    }

    /// <summary>Gets the request in progress on the current execution flow, or <c>null</c>.</summary>
    public static LlmRequest? Current => Ambient.Value;

    /// <summary>Gets the request's id (32 lowercase hex characters), or an empty string when LLM-APM is disabled.</summary>
    public string Id { get; }

    /// <summary>Gets the route template (or unit-of-work name) of the request.</summary>
    public string Route { get; }

    /// <summary>Gets the model the request uses: the model that answered its LLM call, or the model the call asked for
    /// (or that <see cref="RecordUsage"/> was given) when none answered.</summary>
    public string? Model { get; internal set; }

    /// <summary>Gets the provider of the model (<c>openai</c>, <c>azure.ai.openai</c>, ...), set by the first LLM call.</summary>
    public string? Provider { get; internal set; }

    /// <summary>Gets or sets the conversation the request belongs to.</summary>
    public string? ConversationId { get; set; }

    /// <summary>Gets or sets the user the request is made for: on the span as <c>user.id</c>, in the history, and in
    /// budgets by user. Never a metric tag. At most 128 characters, no control characters; <c>null</c> clears it.</summary>
    /// <exception cref="ArgumentException">The value is empty, too long or has a control character.</exception>
    public string? UserId
    {
        get => Volatile.Read(ref this.userId);
        set
        {
            LlmAttribution.ThrowIfInvalidId(value, nameof(this.UserId));
            Volatile.Write(ref this.userId, value);
            this.Activity?.SetTag(LlmApmTelemetry.Attributes.UserId, value);
        }
    }

    /// <summary>Gets or sets the tenant the request is made for: on the span as <c>llm.tenant.id</c>, in the history, in
    /// budgets by tenant, and the <c>tenant</c> tag of the metrics recorded after it is set (bounded, see
    /// <see cref="LlmApmOptions.Tenants"/>): set it before the request's LLM calls. At most 128 characters, no control
    /// characters; <c>null</c> clears it.</summary>
    /// <exception cref="ArgumentException">The value is empty, too long or has a control character.</exception>
    public string? TenantId
    {
        get => Volatile.Read(ref this.tenantId);
        set
        {
            LlmAttribution.ThrowIfInvalidId(value, nameof(this.TenantId));
            Volatile.Write(ref this.tenantId, value);
            this.Activity?.SetTag(LlmApmTelemetry.Attributes.TenantId, value);
        }
    }

    /// <summary>Gets a copy of the request's custom properties (see <see cref="SetProperty"/>).</summary>
    public IReadOnlyDictionary<string, string> Properties
    {
        get
        {
            lock (this.sync)
            {
                return this.PropertiesLocked();
            }
        }
    }

    /// <summary>Gets the caller's cancellation token: a cancellation it requested is classified as <c>cancelled</c>.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Gets the request's start time.</summary>
    public DateTimeOffset StartTime => new(this.startTicks, TimeSpan.Zero);

    /// <summary>Gets the trace id of the request span, or an empty string when there is no span.</summary>
    public string TraceId => this.Activity?.TraceId.ToHexString() ?? string.Empty;

    /// <summary>Gets the request span, or <c>null</c> when nothing records it.</summary>
    public Activity? Activity { get; }

    /// <summary>Gets the token usage recorded so far.</summary>
    public LlmUsage Usage
    {
        get
        {
            lock (this.sync)
            {
                return this.UsageLocked();
            }
        }
    }

    /// <summary>Gets the cost recorded so far in US dollars, or <c>null</c> when a model used has no price.</summary>
    public decimal? CostUsd
    {
        get
        {
            lock (this.sync)
            {
                return this.CostLocked();
            }
        }
    }

    /// <summary>Gets a value indicating whether a model used by the request has no price.</summary>
    public bool Unpriced => Volatile.Read(ref this.unpriced);

    /// <summary>Gets the error type of the request, or <c>null</c> while it has not failed.</summary>
    public string? ErrorType => Volatile.Read(ref this.errorType);

    /// <summary>Gets a value indicating whether the request has finished.</summary>
    public bool IsFinished => Volatile.Read(ref this.ended) != 0;

    internal LlmApmInstrumentation? Instrumentation => this.instrumentation;

    /// <summary>Gets the <see cref="Stopwatch"/> timestamp of the request's start.</summary>
    internal long StartTimestamp => this.startTimestamp;

    /// <summary>Gets the buffer the history processor keeps the request's steps in, when one records its requests.</summary>
    internal LlmStepBuffer? History => this.history;

    /// <summary>Gets the route as metric tags carry it: bounded, see <see cref="RouteTagger"/>.</summary>
    internal string RouteTag { get; }

    internal string? ErrorMessage => this.text?.ErrorMessage;

    internal string? CapturedPrompt => this.text?.CapturedPrompt;

    internal string? CapturedCompletion => this.text?.CapturedCompletion;

    internal string? EvaluationPrompt => this.text?.EvaluationPrompt;

    internal string? EvaluationCompletion => this.text?.EvaluationCompletion;

    /// <summary>The request's free text, made when it first has some.</summary>
    private LlmRequestText Text => this.text ?? Interlocked.CompareExchange(ref this.text, new LlmRequestText(), null) ?? this.text;

    /// <summary>Marks the request as failed with the classified type of <paramref name="exception"/> and records
    /// the exception on the request span.</summary>
    /// <param name="exception">The failure.</param>
    public void Fail(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (this.instrumentation is null)
        {
            return;
        }

        var type = this.instrumentation.Errors.Classify(exception, this.CancellationToken);
        this.MarkFailed(type, exception.Message, exception, step: null);
    }

    /// <summary>Marks the request as failed with an error type of the host's choosing. Does nothing when the request
    /// has already failed (for example in a step): its first error stands and is counted once.</summary>
    /// <param name="errorType">The error type, preferably one of <see cref="LlmErrorTypes"/>.</param>
    /// <param name="message">A message for the history; never include prompts or secrets.</param>
    public void Fail(string errorType, string? message = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(errorType);
        if (this.instrumentation is null || this.ErrorType is not null)
        {
            // A request that already failed keeps its first error, counted once.
            return;
        }

        this.MarkFailed(errorType, message, exception: null, step: null);
    }

    /// <summary>Takes back the failure of the request when the host recovered from it, for example a call that
    /// failed and then succeeded on retry: the request ends <c>ok</c> unless it fails again. The failed steps keep
    /// their errors, and <c>llm.errors</c> keeps its counts: each failed attempt was a real error.</summary>
    public void Recover()
    {
        lock (this.sync)
        {
            this.errorType = null;
            if (this.text is { } text)
            {
                text.ErrorMessage = null;
            }
        }
    }

    /// <summary>Records the token usage of one LLM call made for this request (an LLM client that is not an
    /// <c>IChatClient</c> instrumented with <c>UseLlmApm()</c>): <c>llm.tokens</c>, and the cost from the price table,
    /// or <c>llm.price.misses</c> when the model has no price.</summary>
    /// <param name="model">The model that served the call.</param>
    /// <param name="usage">The tokens it used.</param>
    /// <returns>The cost of the call in US dollars, or <c>null</c> when the model has no price.</returns>
    public decimal? RecordUsage(string? model, LlmUsage usage)
    {
        if (this.instrumentation is null)
        {
            return null;
        }

        this.Model ??= model;
        return this.instrumentation.RecordUsage(this, model, usage);
    }

    /// <summary>Attaches a score to the request (a user's feedback, an evaluation): <c>llm.scores</c>, a
    /// <c>gen_ai.evaluation.result</c> event on the request's span, and the history record's scores. After the request
    /// has finished this is <see cref="LlmApmInstrumentation.AddScore"/> by its id.</summary>
    /// <param name="score">The score.</param>
    public void AddScore(LlmScore score)
    {
        ArgumentNullException.ThrowIfNull(score);
        if (this.instrumentation is null)
        {
            return;
        }

        lock (this.sync)
        {
            if (!this.scoresTaken)
            {
                this.scores ??= [];
                if (this.scores.Count >= LlmScoreTable.MaxPerRequest)
                {
                    this.scores.RemoveAt(0);
                }

                this.scores.Add(score);
                if (!this.IsFinished && this.Activity is { } activity)
                {
                    LlmScoreTelemetry.AddEvent(activity, score, this.instrumentation.Options.CaptureMessageContent);
                }

                LlmScoreTelemetry.Count(score, this.RouteTag, this.instrumentation.Models.Tag(this.Model), this.instrumentation.ScoreNames);
                return;
            }
        }

        // The history already has the record: the score joins it there.
        this.instrumentation.AddScore(this.Id, score);
    }

    /// <summary>Sets a custom property of the request (an experiment, a feature, a plan): on the span as
    /// <c>llm.property.{key}</c> and in the history, which filters by it. Never a metric tag. A <c>null</c> value removes
    /// the property.</summary>
    /// <param name="key">1 to 64 letters, digits, <c>_</c>, <c>-</c> or <c>.</c>.</param>
    /// <param name="value">At most 256 characters, no control characters.</param>
    /// <exception cref="ArgumentException">The key or the value is not valid.</exception>
    /// <exception cref="InvalidOperationException">The request has 16 properties already.</exception>
    public void SetProperty(string key, string? value)
    {
        LlmAttribution.ThrowIfInvalidProperty(key, value);
        lock (this.sync)
        {
            if (value is null)
            {
                this.properties?.Remove(key);
            }
            else
            {
                this.properties ??= new(StringComparer.Ordinal);
                if (this.properties.Count >= LlmAttribution.MaxProperties && !this.properties.ContainsKey(key))
                {
                    throw new InvalidOperationException($"A request has at most {LlmAttribution.MaxProperties} properties; '{key}' was not set.");
                }

                this.properties[key] = value;
            }
        }

        this.Activity?.SetTag(LlmApmTelemetry.Attributes.PropertyPrefix + key, value);
    }

    /// <summary>Finishes the request: ends its span and records <c>llm.requests</c>, <c>llm.request.latency</c>,
    /// <c>llm.requests.active</c> and the history record. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref this.ended, 1) != 0)
        {
            return;
        }

        if (ReferenceEquals(Ambient.Value, this))
        {
            Ambient.Value = this.previous;
        }

        if (this.instrumentation is null)
        {
            return;
        }

        var elapsedTime = Stopwatch.GetElapsedTime(this.startTimestamp);
        var elapsed = elapsedTime.TotalSeconds;
        var type = this.ErrorType;
        var status = type is null ? LlmApmInstruments.StatusOk : LlmApmInstruments.StatusError;
        var modelTag = this.instrumentation.Models.Tag(this.Model);

        if (this.Activity is { } activity)
        {
            // One lock for both (not measured alone, see LlmHistoryProcessor.Finish).
            LlmUsage usage;
            decimal? costUsd;
            lock (this.sync)
            {
                usage = this.UsageLocked();
                costUsd = this.CostLocked();
            }

            activity.SetTag(LlmApmTelemetry.Attributes.Status, status);
            if (this.Model is not null)
            {
                activity.SetTag(LlmApmTelemetry.Attributes.Model, this.Model);
            }

            if (this.ConversationId is not null)
            {
                activity.SetTag(GenAiConventions.ConversationId, this.ConversationId);
            }

            activity.SetTag(LlmApmTelemetry.Attributes.UsageInputTokens, usage.InputTokens);
            activity.SetTag(LlmApmTelemetry.Attributes.UsageOutputTokens, usage.OutputTokens);
            if (usage.CachedInputTokens > 0)
            {
                activity.SetTag(LlmApmTelemetry.Attributes.UsageCachedInputTokens, usage.CachedInputTokens);
            }

            if (usage.CacheWriteInputTokens > 0)
            {
                activity.SetTag(LlmApmTelemetry.Attributes.UsageCacheWriteInputTokens, usage.CacheWriteInputTokens);
            }

            if (usage.ReasoningTokens > 0)
            {
                activity.SetTag(LlmApmTelemetry.Attributes.UsageReasoningTokens, usage.ReasoningTokens);
            }

            if (usage.Estimated)
            {
                activity.SetTag(LlmApmTelemetry.Attributes.UsageEstimated, true);
            }

            if (costUsd is { } cost)
            {
                activity.SetTag(LlmApmTelemetry.Attributes.CostUsd, (double)cost);
            }
            else
            {
                activity.SetTag(LlmApmTelemetry.Attributes.CostUnpriced, true);
            }

            if (type is not null)
            {
                activity.SetTag(LlmApmTelemetry.Attributes.ErrorType, type);
                activity.SetStatus(ActivityStatusCode.Error, this.ErrorMessage);
            }
        }

        var tags = new TagList
        {
            { LlmApmTelemetry.Attributes.TagRoute, this.RouteTag },
            { LlmApmTelemetry.Attributes.TagModel, modelTag },
            { LlmApmTelemetry.Attributes.TagStatus, status },
            { LlmApmTelemetry.Attributes.TagTenant, this.instrumentation.Tenants.Tag(this.TenantId) },
        };

        // Recorded while the request's span is current and before it ends: a trace-based exemplar then names the
        // request's trace, and the metrics count a request before its history record exists.
        var current = Activity.Current;
        var swap = this.Activity is { } open && !ReferenceEquals(current, open);
        if (swap)
        {
            Activity.Current = this.Activity;
        }

        LlmApmInstruments.Requests.Add(1, tags);
        LlmApmInstruments.RequestLatency.Record(elapsed, tags);
        LlmApmInstruments.RequestsActive.Add(-1, new KeyValuePair<string, object?>(LlmApmTelemetry.Attributes.TagRoute, this.RouteTag));
        if (swap)
        {
            Activity.Current = current;
        }

        if (this.Activity is { } ended)
        {
            if (!ended.IsStopped)
            {
                ended.SetEndTime(ended.StartTimeUtc + elapsedTime);
            }

            ended.Stop();

            // The processor took the request's entry as the span ended; a span that no processor saw leaves it here.
            if (this.history is { IsOpen: true })
            {
                this.instrumentation.OpenRequests?.Close(ended);
            }
        }

        this.instrumentation.Evaluations?.Offer(this, status);
    }

    /// <summary>Hands the request's prompt and completion to the online evaluators when content capture is off: kept in
    /// memory until the request is evaluated (or not sampled), never stored, exported or put on a span. With capture on,
    /// evaluators get the captured (redacted) content and this is not needed. Does nothing without evaluators.</summary>
    /// <param name="prompt">The prompt.</param>
    /// <param name="completion">The completion.</param>
    public void SetEvaluationContent(string? prompt, string? completion)
    {
        if (this.instrumentation?.Evaluations is null)
        {
            return;
        }

        var text = this.Text;
        text.EvaluationPrompt = prompt;
        text.EvaluationCompletion = completion;
    }

    /// <summary>Reads what the history record takes from the request, under one lock: its usage, cost, properties and
    /// scores; any later score goes to the history by id.</summary>
    internal LlmRequestTotals TakeTotals()
    {
        lock (this.sync)
        {
            this.scoresTaken = true;
            return new LlmRequestTotals(
                this.UsageLocked(),
                this.CostLocked(),
                this.PropertiesLocked(),
                this.scores is null ? [] : [.. this.scores]);
        }
    }

    /// <summary>The cost so far, <c>null</c> once a model had no price; the caller holds the lock.</summary>
    private decimal? CostLocked() => this.unpriced ? null : this.cost;

    /// <summary>A copy of the properties set so far; the caller holds the lock.</summary>
    private IReadOnlyDictionary<string, string> PropertiesLocked()
        => this.properties is null ? LlmAttribution.NoProperties : new Dictionary<string, string>(this.properties, StringComparer.Ordinal);

    /// <summary>The usage recorded so far; the caller holds the lock.</summary>
    private LlmUsage UsageLocked() => new(this.inputTokens, this.outputTokens, this.cachedInputTokens, this.reasoningTokens, this.estimated)
    {
        CacheWriteInputTokens = this.cacheWriteInputTokens,
    };

    internal void MarkFailed(string type, string? message, Exception? exception, string? step)
    {
        lock (this.sync)
        {
            if (this.errorType is null)
            {
                this.errorType = type;
                if (message is not null || this.text is not null)
                {
                    this.Text.ErrorMessage = message;
                }
            }
        }

        if (exception is not null && this.Activity is { } activity && step is null)
        {
            activity.AddException(exception);
        }

        LlmApmInstruments.CountError(exception, this.RouteTag, this.instrumentation!.Models.Tag(this.Model), step ?? "request", type);
    }

    internal void AddUsage(in LlmUsage usage, decimal? callCost)
    {
        lock (this.sync)
        {
            this.inputTokens += usage.InputTokens;
            this.outputTokens += usage.OutputTokens;
            this.cachedInputTokens += usage.CachedInputTokens;
            this.cacheWriteInputTokens += usage.CacheWriteInputTokens;
            this.reasoningTokens += usage.ReasoningTokens;
            this.estimated |= usage.Estimated;
            if (callCost is { } c)
            {
                this.cost += c;
            }
            else
            {
                this.unpriced = true;
            }
        }
    }

    /// <summary>Records one LLM call made for the request, in one step: the model that answered (or, when the call
    /// used nothing, the model it asked for, unless the host set one), the provider, the call's usage and cost, and its
    /// content when captured.</summary>
    /// <param name="model">The model that answered, else the model asked for.</param>
    /// <param name="provider">The provider of the model.</param>
    /// <param name="usage">The tokens the call used, or <c>null</c> when it used none that count.</param>
    /// <param name="cost">The call's cost, or <c>null</c> when its model has no price.</param>
    /// <param name="prompt">The redacted prompt when content capture is on.</param>
    /// <param name="completion">The redacted completion when content capture is on.</param>
    internal void RecordCall(string? model, string provider, LlmUsage? usage, decimal? cost, string? prompt, string? completion)
    {
        this.Model = usage is not null ? model ?? this.Model : this.Model ?? model;
        this.Provider ??= provider;
        if (usage is { } used)
        {
            this.AddUsage(used, cost);
        }

        if (prompt is not null)
        {
            this.Text.CapturedPrompt = prompt;
        }

        if (completion is not null)
        {
            this.Text.CapturedCompletion = completion;
        }
    }
}

/// <summary>What a finished request hands to its history record, read at once.</summary>
internal readonly record struct LlmRequestTotals(LlmUsage Usage, decimal? CostUsd, IReadOnlyDictionary<string, string> Properties, IReadOnlyList<LlmScore> Scores);
