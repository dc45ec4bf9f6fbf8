using System.Diagnostics;
using LlmApm.Otel.History;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel;

/// <summary>
/// The entry point of LLM-APM in a host: starts requests, and holds the price table, the error classifier and the
/// history. Registered as a singleton by <c>AddLlmApm()</c>.
/// </summary>
public sealed class LlmApmInstrumentation : IDisposable
{
    private const string CountedKey = "LlmApm.Counted";
    private readonly ActivityListener? listener;

    /// <summary>Initializes a new instance of the <see cref="LlmApmInstrumentation"/> class that keeps LLM-APM's spans
    /// visible to the history; registered by <c>AddLlmApm()</c>, never built by a host.</summary>
    /// <param name="options">The options.</param>
    /// <param name="history">The history store.</param>
    /// <param name="feed">The live feed of finished requests.</param>
    internal LlmApmInstrumentation(IOptions<LlmApmOptions> options, ILlmHistoryStore history, LlmHistoryFeed feed)
        : this(options, history, feed, listen: true)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="LlmApmInstrumentation"/> class.</summary>
    /// <param name="options">The options.</param>
    /// <param name="history">The history store.</param>
    /// <param name="feed">The live feed of finished requests.</param>
    /// <param name="listen">Whether to add the process-wide listener that keeps LLM-APM's spans visible to the
    /// history: the host's instrumentation does; a chat client's defaults outside dependency injection, which have no
    /// history to fill, must not.</param>
    internal LlmApmInstrumentation(IOptions<LlmApmOptions> options, ILlmHistoryStore history, LlmHistoryFeed feed, bool listen)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.Options = options.Value;
        this.History = history ?? throw new ArgumentNullException(nameof(history));
        this.Feed = feed ?? throw new ArgumentNullException(nameof(feed));
        this.PriceCatalog = new LlmPriceCatalog(this.Options.Prices, this.Options.PriceFile);
        this.Errors = new LlmErrorClassifier(this.Options.ErrorClassifiers);
        this.Models = new ModelTagger(this.PriceCatalog, this.Options.Models);
        this.Routes = new RouteTagger();
        this.Tenants = new TenantTagger(this.Options.Tenants);
        this.ScoreNames = new ScoreNameTagger(this.Options.ScoreNames);
        this.Redactor = this.Options.Redactor ?? LlmContentRedactor.Default;
        if (this.Options.Enabled && this.Options.Budgets.Count > 0)
        {
            this.Budgets = new LlmBudgetLedger(this.Options.Budgets);
        }

        if (this.Options.Enabled && listen)
        {
            // The history must see every request even when trace export is sampled down to nothing: this listener asks
            // for the request and step spans of LLM-APM with all their data, but never marks them recorded, so the
            // sampler's decision still rules what exporters send.
            // The source is read before the listener exists: read first inside ShouldListenTo, it would be created there,
            // and its constructor asks this very listener whether it listens while the static is still null, so the
            // listener would miss it and every span with an unsampled parent would be lost to the history.
            var source = LlmApmInstruments.Source;
            this.listener = new ActivityListener
            {
                ShouldListenTo = candidate => ReferenceEquals(candidate, source),
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            };
            ActivitySource.AddActivityListener(this.listener);

            // Publish the drop counter at zero, so that alerts on its increase have a series from the start.
            LlmApmInstruments.HistoryDropped.Add(0, LlmHistoryDropReason.StoreFailed);
        }
    }

    /// <summary>Gets the history store: the finished requests, for a host that reads them itself.</summary>
    public ILlmHistoryStore History { get; }

    /// <summary>Gets the options in force.</summary>
    internal LlmApmOptions Options { get; }

    /// <summary>Gets a value indicating whether LLM-APM records anything.</summary>
    internal bool Enabled => this.Options.Enabled;

    /// <summary>Gets the live feed of finished requests.</summary>
    internal LlmHistoryFeed Feed { get; }

    /// <summary>Gets the price table in force (it changes when the price file does).</summary>
    internal LlmPriceTable Prices => this.PriceCatalog.Current;

    /// <summary>Gets the price table with where it comes from, and the price file's status.</summary>
    internal LlmPriceCatalog PriceCatalog { get; }

    /// <summary>Gets the error classifier.</summary>
    internal LlmErrorClassifier Errors { get; }

    internal ModelTagger Models { get; }

    internal RouteTagger Routes { get; }

    internal TenantTagger Tenants { get; }

    internal ScoreNameTagger ScoreNames { get; }

    /// <summary>Gets or sets the evaluation runner, when evaluators are registered.</summary>
    internal LlmEvaluationRunner? Evaluations { get; set; }

    internal Func<string, string> Redactor { get; }

    /// <summary>Gets the spend of the configured budgets, or <c>null</c> without budgets.</summary>
    internal LlmBudgetLedger? Budgets { get; }

    /// <summary>Gets or sets the requests in progress that the history processor records, set by the processor: without
    /// one, requests open no entry.</summary>
    internal LlmOpenRequests? OpenRequests { get; set; }

    /// <summary>Starts a request and makes it <see cref="LlmRequest.Current"/> for the calling flow. Dispose it to
    /// finish it.</summary>
    /// <param name="route">The route template or the name of the unit of work: a bounded value, it becomes a metric tag.</param>
    /// <param name="conversationId">The conversation the request belongs to, if any.</param>
    /// <param name="cancellationToken">The caller's token: its cancellation is classified as <c>cancelled</c>.</param>
    /// <returns>The request.</returns>
    public LlmRequest StartRequest(string route, string? conversationId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(route);
        return new LlmRequest(this.Enabled ? this : null, route, conversationId, cancellationToken);
    }

    /// <summary>Classifies <paramref name="exception"/> as LLM-APM does for <c>error.type</c>: the host's
    /// <see cref="LlmApmOptions.ErrorClassifiers"/> first, then the built-in rules. For a host that maps failures to its
    /// own answers (an HTTP status, a retry) the same way its telemetry names them. Never throws.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="callerToken">The caller's token: a cancellation it requested is <see cref="LlmErrorTypes.Cancelled"/>,
    /// any other cancellation is <see cref="LlmErrorTypes.Timeout"/>.</param>
    /// <returns>One of <see cref="LlmErrorTypes"/>, or a type returned by a custom classifier.</returns>
    public string ClassifyError(Exception exception, CancellationToken callerToken = default)
        => this.Errors.Classify(exception, callerToken);

    /// <summary>Attaches a score to a finished request by its id, for feedback that comes after the answer (a thumbs
    /// down) and for evaluations: the history record's scores, <c>llm.scores</c>, and a <c>gen_ai.evaluation.result</c>
    /// event on a short <c>llm.score</c> span in the request's trace. For a request in progress use
    /// <see cref="LlmRequest.AddScore"/>.</summary>
    /// <param name="requestId">The request's id (<see cref="LlmRequest.Id"/>).</param>
    /// <param name="score">The score.</param>
    /// <returns><c>false</c> when the history has no request with this id (or LLM-APM is disabled).</returns>
    /// <exception cref="NotSupportedException">The history store does not keep scores.</exception>
    /// <exception cref="LlmHistoryUnavailableException">The history store cannot be read or written.</exception>
    public bool AddScore(string requestId, LlmScore score)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        ArgumentNullException.ThrowIfNull(score);
        if (!this.Enabled || this.History.Find(requestId) is not { } record || !this.History.AddScore(requestId, score))
        {
            return false;
        }

        LlmScoreTelemetry.Count(score, this.Routes.Tag(record.Route), this.Models.Tag(record.Model), this.ScoreNames);
        LlmScoreTelemetry.AddEventAfter(record.TraceId, record.SpanId, record.Id, score, this.Options.CaptureMessageContent);
        return true;
    }

    /// <summary>Disposes the listener that keeps request spans visible to the history.</summary>
    public void Dispose()
    {
        this.PriceCatalog.Dispose();
        this.listener?.Dispose();
        this.Evaluations?.Dispose();
        this.Budgets?.Dispose();
    }

    /// <summary>Records one LLM call's usage against <paramref name="request"/> (or, without one, against the
    /// route <c>none</c>): <c>llm.tokens</c> by type, <c>llm.cost.usd</c> or <c>llm.price.misses</c>, and the
    /// request's tokens and cost.</summary>
    /// <returns>The cost of the call, or <c>null</c> when the model has no price.</returns>
    internal decimal? RecordUsage(LlmRequest? request, string? model, in LlmUsage usage)
    {
        var resolved = this.Models.Resolve(model);
        var cost = this.RecordUsage(request, resolved, usage);
        request?.AddUsage(usage, cost);
        this.Spend(request, resolved, cost);
        return cost;
    }

    /// <summary>Records the metrics of one LLM call's usage for a model already resolved to its tag and price, tagged
    /// with the route and the tenant <paramref name="request"/> has now; the caller adds the usage to its request.</summary>
    /// <returns>The cost of the call, or <c>null</c> when the model has no price.</returns>
    internal decimal? RecordUsage(LlmRequest? request, ResolvedModel model, in LlmUsage usage)
    {
        var route = request?.RouteTag ?? LlmApmInstruments.NoRoute;
        var tenant = this.Tenants.Tag(request?.TenantId);
        var modelTag = model.Tag;
        decimal? cost = model.Price?.ForInput(usage.InputTokens).Cost(usage.InputTokens, usage.CachedInputTokens, usage.CacheWriteInputTokens, usage.OutputTokens);
        AddTokens(route, modelTag, tenant, "input", usage.InputTokens);
        AddTokens(route, modelTag, tenant, "output", usage.OutputTokens);
        AddTokens(route, modelTag, tenant, "cached_input", usage.CachedInputTokens);
        AddTokens(route, modelTag, tenant, "cache_write", usage.CacheWriteInputTokens);
        AddTokens(route, modelTag, tenant, "reasoning", usage.ReasoningTokens);
        if (cost is { } c)
        {
            LlmApmInstruments.Cost.Add((double)c, new TagList
            {
                { LlmApmTelemetry.Attributes.TagRoute, route },
                { LlmApmTelemetry.Attributes.TagModel, modelTag },
                { LlmApmTelemetry.Attributes.TagTenant, tenant },
            });
        }
        else
        {
            var missTag = this.Models.MissTag(model.Model);
            LlmApmInstruments.PriceMisses.Add(1, new KeyValuePair<string, object?>(LlmApmTelemetry.Attributes.TagModel, missTag));
            if (LlmApmEventSource.Log.IsEnabled())
            {
                LlmApmEventSource.Log.PriceMissing(missTag);
            }
        }

        return cost;
    }

    /// <summary>Adds a call's cost to the budgets that count it.</summary>
    internal void Spend(LlmRequest? request, ResolvedModel model, decimal? cost)
    {
        if (cost is { } c && this.Budgets is { } budgets)
        {
            budgets.Add(request, model.Tag, c);
        }
    }

    /// <summary>Refuses a call that a spent hard budget counts, before it reaches the provider.</summary>
    /// <exception cref="LlmBudgetExceededException">A hard budget is spent; the request has failed with it.</exception>
    internal void ThrowIfOverBudget(LlmRequest? request, string? model)
        => this.Budgets?.ThrowIfExceeded(request, this.Models.Tag(model));

    internal string Redact(string text)
    {
        try
        {
            return this.Redactor(text);
        }
        catch (Exception ex)
        {
            // Better to keep nothing than to keep what the redactor could not clean.
            LlmApmEventSource.Log.CallbackFailed("Redactor", ex);
            return LlmContentRedactor.Mask;
        }
    }

    /// <summary>Marks an exception as counted in <c>llm.errors</c>, so that the steps and the request it passes
    /// through on its way out count it once.</summary>
    internal static bool TryMarkCounted(Exception exception)
    {
        try
        {
            if (exception.Data.Contains(CountedKey))
            {
                return false;
            }

            exception.Data[CountedKey] = true;
            return true;
        }
        catch (Exception)
        {
            // Some exceptions have a read-only Data: count them each time rather than never.
            return true;
        }
    }

    private static void AddTokens(string route, string modelTag, string tenant, string type, long count)
    {
        if (count <= 0)
        {
            return;
        }

        LlmApmInstruments.Tokens.Add(count, new TagList
        {
            { LlmApmTelemetry.Attributes.TagRoute, route },
            { LlmApmTelemetry.Attributes.TagModel, modelTag },
            { LlmApmTelemetry.Attributes.TagTenant, tenant },
            { LlmApmTelemetry.Attributes.TagTokenType, type },
        });
    }
}
