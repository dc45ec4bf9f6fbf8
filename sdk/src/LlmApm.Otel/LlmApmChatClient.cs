using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel;

/// <summary>
/// A Microsoft.Extensions.AI chat client middleware that records each call as the <c>llm_api_call</c> step of the
/// current request: a span following the OpenTelemetry GenAI conventions, token usage, cost, errors and, for streams,
/// the time to first token. Add it with <c>chatClient.AsBuilder().UseLlmApm()</c>.
/// </summary>
internal sealed class LlmApmChatClient : DelegatingChatClient
{
    private static readonly string[] FinishReasonStop = [ChatFinishReason.Stop.Value];
    private static readonly string[] FinishReasonLength = [ChatFinishReason.Length.Value];
    private static readonly string[] FinishReasonToolCalls = [ChatFinishReason.ToolCalls.Value];
    private static readonly string[] FinishReasonContentFilter = [ChatFinishReason.ContentFilter.Value];
    private static readonly string[] CacheCreationKeys = ["CacheCreationInputTokens", "cache_creation_input_tokens", "gen_ai.usage.cache_creation.input_tokens"];
    private static readonly Lazy<LlmApmInstrumentation> Fallback = new(LlmApmInstrumentationFactory.CreateDefault);

    private readonly LlmApmInstrumentation? configured;
    private readonly string providerName;
    private readonly string? defaultModel;
    private readonly Uri? providerUri;
    private readonly bool openTelemetryInside;
    private SpanName? lastSpanName;
    private object? lastMaxTokens;
    private object? lastTemperature;

    /// <summary>Initializes a new instance of the <see cref="LlmApmChatClient"/> class.</summary>
    /// <param name="innerClient">The client to instrument.</param>
    /// <param name="instrumentation">The host's instrumentation; <c>null</c> uses the current request's, or defaults.</param>
    public LlmApmChatClient(IChatClient innerClient, LlmApmInstrumentation? instrumentation = null)
        : base(innerClient)
    {
        this.configured = instrumentation;
        var metadata = innerClient.GetService<ChatClientMetadata>();
        this.providerName = metadata?.ProviderName ?? "unknown";
        this.defaultModel = metadata?.DefaultModelId;
        this.providerUri = metadata?.ProviderUri;

        // UseLlmApm().UseFunctionInvocation(): the function invocation below cannot find LLM-APM's source, so its tool
        // invocations get their spans from a wrapper of its invoker.
        if (innerClient.GetService<FunctionInvokingChatClient>() is { } functionInvocation)
        {
            LlmApmToolInvoker.Attach(functionInvocation, instrumentation);
        }

        this.openTelemetryInside = innerClient.GetService<OpenTelemetryChatClient>() is not null;
    }

    /// <inheritdoc/>
    /// <remarks>Answers LLM-APM's <see cref="ActivitySource"/>: a <see cref="FunctionInvokingChatClient"/> above this
    /// client (<c>UseFunctionInvocation().UseLlmApm()</c>) asks for it and makes its <c>execute_tool</c> spans on it, so
    /// that they are steps of the request.</remarks>
    public override object? GetService(Type serviceType, object? serviceKey = null)
        => serviceKey is null && serviceType == typeof(ActivitySource)
            ? LlmApmInstruments.Source
            : base.GetService(serviceType, serviceKey);

    /// <inheritdoc/>
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var call = this.Begin(messages, options, streaming: false);
        if (!call.Active)
        {
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }

        ChatResponse? response = null;
        Exception? error = null;
        try
        {
            response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch (Exception ex)
        {
            error = ex;
            throw;
        }
        finally
        {
            call.End(response is null ? CallResult.Failed(error) : new CallResult(response), cancellationToken);
        }
    }

    /// <inheritdoc/>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = this.Begin(messages, options, streaming: true);
        if (!call.Active)
        {
            await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
            {
                yield return update;
            }

            yield break;
        }

        IAsyncEnumerator<ChatResponseUpdate>? enumerator = null;
        var stream = new StreamedResponse();
        try
        {
            while (true)
            {
                ChatResponseUpdate update;
                try
                {
                    enumerator ??= base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                    {
                        stream.Completed = true;
                        break;
                    }

                    update = enumerator.Current;
                }
                catch (Exception ex)
                {
                    stream.Error = ex;
                    throw;
                }

                call.Chunk(stream.Observe(update));

                yield return update;
            }
        }
        finally
        {
            try
            {
                if (enumerator is not null)
                {
                    await enumerator.DisposeAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                // Neither completed nor failed: the consumer stopped reading before the end.
                call.End(stream.ToResult(), cancellationToken);
            }
        }
    }

    private CallScope Begin(IEnumerable<ChatMessage> messages, ChatOptions? options, bool streaming)
    {
        var request = LlmRequest.Current;
        var instrumentation = request?.Instrumentation ?? this.configured ?? Fallback.Value;
        if (!instrumentation.Enabled || request is { Instrumentation: null })
        {
            return default;
        }

        var model = options?.ModelId ?? this.defaultModel;
        instrumentation.ThrowIfOverBudget(request, model);

        // Beside Microsoft.Extensions.AI's UseOpenTelemetry() (inside this client, or outside with its chat span current),
        // that client makes the conventions' chat span and gen_ai metrics: this one's span is then only the step.
        var genAi = !this.openTelemetryInside && !InsideGenAiChatSpan();
        var step = genAi
            ? LlmStep.Start(LlmApmTelemetry.Steps.LlmApiCall, ActivityKind.Client, this.GetSpanName(model), request)
            : LlmStep.Start(LlmApmTelemetry.Steps.LlmApiCall, ActivityKind.Internal, spanName: null, request);
        if (genAi && step.Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag(GenAiConventions.OperationName, GenAiConventions.ChatOperation);
            activity.SetTag(GenAiConventions.ProviderName, this.providerName);
            activity.SetTag(GenAiConventions.RequestModel, model);
            if (options?.MaxOutputTokens is { } maxTokens)
            {
                activity.SetTag(GenAiConventions.RequestMaxTokens, Box(ref this.lastMaxTokens, maxTokens));
            }

            if (options?.Temperature is { } temperature)
            {
                activity.SetTag(GenAiConventions.RequestTemperature, Box(ref this.lastTemperature, (double)temperature));
            }

            if ((options?.ConversationId ?? request?.ConversationId) is { } conversationId)
            {
                activity.SetTag(GenAiConventions.ConversationId, conversationId);
            }

            GenAiConventions.TagServer(activity, this.providerUri);
            if (options is not null)
            {
                TagOptions(activity, options);
            }

            // Recorded before the call, so that a call that fails keeps what it was asked.
            if (instrumentation.Options.CaptureMessageContent)
            {
                CaptureInput(activity, messages, options, instrumentation);
            }
        }

        return new CallScope(instrumentation, request, step, messages, model, this.providerName, streaming, genAi);
    }

    /// <summary>Whether this call runs inside another instrumentation's GenAI chat span: Microsoft.Extensions.AI's
    /// <c>UseOpenTelemetry()</c> outside this client, possibly with a function invocation's loop span between them.</summary>
    private static bool InsideGenAiChatSpan()
    {
        var walked = 0;
        for (var current = Activity.Current; current is not null && walked < 8; current = current.Parent, walked++)
        {
            if (ReferenceEquals(current.Source, LlmApmInstruments.Source))
            {
                if (string.Equals(current.OperationName, GenAiConventions.OrchestrateToolsSpan, StringComparison.Ordinal))
                {
                    continue;
                }

                return false;
            }

            if (current.GetTagItem(GenAiConventions.OperationName) is GenAiConventions.ChatOperation)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The conventions' request attributes that a call sets rarely: each only when the options carry it.</summary>
    private static void TagOptions(Activity activity, ChatOptions options)
    {
        if (options.TopP is { } topP)
        {
            activity.SetTag(GenAiConventions.RequestTopP, (double)topP);
        }

        if (options.TopK is { } topK)
        {
            activity.SetTag(GenAiConventions.RequestTopK, topK);
        }

        if (options.FrequencyPenalty is { } frequencyPenalty)
        {
            activity.SetTag(GenAiConventions.RequestFrequencyPenalty, (double)frequencyPenalty);
        }

        if (options.PresencePenalty is { } presencePenalty)
        {
            activity.SetTag(GenAiConventions.RequestPresencePenalty, (double)presencePenalty);
        }

        if (options.Seed is { } seed)
        {
            activity.SetTag(GenAiConventions.RequestSeed, seed);
        }

        if (options.StopSequences is { Count: > 0 } stop)
        {
            activity.SetTag(GenAiConventions.RequestStopSequences, stop.ToArray());
        }

        switch (options.ResponseFormat)
        {
            case ChatResponseFormatText:
                activity.SetTag(GenAiConventions.OutputType, "text");
                break;
            case ChatResponseFormatJson:
                activity.SetTag(GenAiConventions.OutputType, "json");
                break;
        }
    }

    /// <summary>The opt-in content of a call, redacted: its input messages, system instructions and tool definitions.</summary>
    private static void CaptureInput(Activity activity, IEnumerable<ChatMessage> messages, ChatOptions? options, LlmApmInstrumentation instrumentation)
    {
        try
        {
            var redact = instrumentation.Redact;
            activity.SetTag(GenAiConventions.InputMessages, GenAiContentJson.Messages(messages, redact));
            activity.SetTag(GenAiConventions.SystemInstructions, GenAiContentJson.SystemInstructions(messages, options?.Instructions, redact));
            activity.SetTag(GenAiConventions.ToolDefinitions, GenAiContentJson.ToolDefinitions(options?.Tools));
        }
        catch (Exception ex)
        {
            LlmApmEventSource.Log.CallbackFailed("capture the input", ex);
        }
    }

    /// <summary>The boxed value of a request attribute (<c>gen_ai.request.max_tokens</c>, <c>gen_ai.request.temperature</c>):
    /// a client's calls nearly always ask for the same, so the last box is reused (a box is never changed).</summary>
    private static object Box<T>(ref object? last, T value)
        where T : struct, IEquatable<T>
    {
        var kept = Volatile.Read(ref last);
        if (kept is T previous && previous.Equals(value))
        {
            return kept;
        }

        object boxed = value;
        Volatile.Write(ref last, boxed);
        return boxed;
    }

    /// <summary>The span name, <c>chat {model}</c>: a client nearly always calls one model, so the last name is kept
    /// rather than concatenated on every call.</summary>
    private string GetSpanName(string? model)
    {
        if (model is null)
        {
            return GenAiConventions.ChatOperation;
        }

        var last = Volatile.Read(ref this.lastSpanName);
        if (last is not null && string.Equals(last.Model, model, StringComparison.Ordinal))
        {
            return last.Name;
        }

        var name = string.Concat(GenAiConventions.ChatOperation, " ", model);
        Volatile.Write(ref this.lastSpanName, new SpanName(model, name));
        return name;
    }

    /// <summary>The value of <c>gen_ai.response.finish_reasons</c>: one shared array per common reason.</summary>
    private static string[] FinishReasons(ChatFinishReason reason)
        => reason == ChatFinishReason.Stop ? FinishReasonStop
            : reason == ChatFinishReason.Length ? FinishReasonLength
            : reason == ChatFinishReason.ToolCalls ? FinishReasonToolCalls
            : reason == ChatFinishReason.ContentFilter ? FinishReasonContentFilter
            : [reason.Value];

    private sealed record SpanName(string Model, string Name);

    /// <summary>The text of a response: read only when it is needed (to estimate tokens when the provider reports
    /// no usage, or to capture content), so that a call with usage and without capture never builds it.</summary>
    private readonly struct Completion
    {
        private readonly ChatResponse? response;
        private readonly StringBuilder? streamed;

        public Completion(ChatResponse response) => this.response = response;

        public Completion(StringBuilder streamed) => this.streamed = streamed;

        public bool IsEmpty => this.response is null && this.streamed is not { Length: > 0 };

        /// <summary>Gets the messages of a response that was not streamed; <c>null</c> for a stream.</summary>
        public IList<ChatMessage>? Messages => this.response?.Messages;

        public override string ToString() => this.response?.Text ?? this.streamed?.ToString() ?? string.Empty;
    }

    /// <summary>How a call ended, all that <see cref="CallScope.End"/> needs: the response's model, id, finish reason,
    /// usage and text, and the failure (an exception, or a stream its consumer left before its end).</summary>
    private readonly record struct CallResult(
        string? ResponseModel, string? ResponseId, ChatFinishReason? FinishReason, UsageDetails? Usage, Completion Completion,
        Exception? Error = null, bool Abandoned = false)
    {
        public CallResult(ChatResponse response)
            : this(response.ModelId, response.ResponseId, response.FinishReason, response.Usage, new Completion(response))
        {
        }

        public bool Succeeded => this.Error is null && !this.Abandoned;

        public static CallResult Failed(Exception? error) => new(null, null, null, null, default, error, Abandoned: error is null);
    }

    /// <summary>What a stream has delivered so far.</summary>
    private sealed class StreamedResponse
    {
        private readonly StringBuilder text = new();
        private string? modelId;
        private string? responseId;
        private ChatFinishReason? finishReason;
        private UsageDetails? usage;

        public bool Completed { get; set; }

        public Exception? Error { get; set; }

        /// <summary>Takes in an update; <c>true</c> when it carries text.</summary>
        public bool Observe(ChatResponseUpdate update)
        {
            this.modelId ??= update.ModelId;
            this.responseId ??= update.ResponseId;
            this.finishReason ??= update.FinishReason;
            var hasText = false;
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextContent { Text.Length: > 0 } textContent:
                        hasText = true;
                        this.text.Append(textContent.Text);
                        break;
                    case UsageContent usageContent:
                        this.usage = usageContent.Details;
                        break;
                }
            }

            return hasText;
        }

        public CallResult ToResult() => new(
            this.modelId, this.responseId, this.finishReason, this.usage, new Completion(this.text), this.Error, Abandoned: !this.Completed && this.Error is null);
    }

    /// <summary>The bookkeeping of one call: a value in the calling method's state, not an object of its own. The
    /// default value is a call that nothing records.</summary>
    private struct CallScope
    {
        private readonly LlmApmInstrumentation instrumentation;
        private readonly LlmRequest? request;
        private readonly LlmStep step;
        private readonly IEnumerable<ChatMessage> messages;
        private readonly string? requestModel;
        private readonly string provider;
        private readonly bool streaming;
        private readonly bool genAi;

        // The call's clock when it has no span; with a span, the span's start and end are the call's.
        private readonly long start;
        private bool firstChunk;
        private bool firstText;
        private long lastChunk;

        public CallScope(
            LlmApmInstrumentation instrumentation, LlmRequest? request, LlmStep step, IEnumerable<ChatMessage> messages,
            string? requestModel, string provider, bool streaming, bool genAi)
        {
            this.genAi = genAi;
            this.instrumentation = instrumentation;
            this.request = request;
            this.step = step;
            this.messages = messages;
            this.requestModel = requestModel;
            this.provider = provider;
            this.streaming = streaming;
            this.start = step.Activity is null ? Stopwatch.GetTimestamp() : 0;
            this.Active = true;
        }

        public bool Active { get; }

        /// <summary>A streamed update arrived: the conventions' time to first chunk at the first update, whatever it
        /// carries, then the time per output chunk; LLM-APM's time to first token at the first text.</summary>
        public void Chunk(bool hasText)
        {
            if (!this.streaming)
            {
                return;
            }

            var now = Stopwatch.GetTimestamp();
            if (!this.firstChunk)
            {
                this.firstChunk = true;
                var activity = this.step.Activity;
                var seconds = activity is null
                    ? Stopwatch.GetElapsedTime(this.start, now).TotalSeconds
                    : (DateTime.UtcNow - activity.StartTimeUtc).TotalSeconds;
                if (this.genAi)
                {
                    activity?.SetTag(GenAiConventions.ResponseTimeToFirstChunk, seconds);
                    LlmApmInstruments.GenAiTimeToFirstChunk.Record(seconds, this.GenAiStreamTags());
                }
            }
            else if (this.genAi && LlmApmInstruments.GenAiTimePerOutputChunk.Enabled)
            {
                LlmApmInstruments.GenAiTimePerOutputChunk.Record(Stopwatch.GetElapsedTime(this.lastChunk, now).TotalSeconds, this.GenAiStreamTags());
            }

            this.lastChunk = now;
            if (hasText && !this.firstText)
            {
                this.firstText = true;
                var activity = this.step.Activity;
                var seconds = activity is null
                    ? Stopwatch.GetElapsedTime(this.start, now).TotalSeconds
                    : (DateTime.UtcNow - activity.StartTimeUtc).TotalSeconds;
                LlmApmInstruments.TimeToFirstToken.Record(seconds, new TagList
                {
                    { LlmApmTelemetry.Attributes.TagRoute, this.request?.RouteTag ?? LlmApmInstruments.NoRoute },
                    { LlmApmTelemetry.Attributes.TagModel, this.instrumentation.Models.Tag(this.request?.Model ?? this.requestModel) },
                });
            }
        }

        private readonly TagList GenAiStreamTags() => new()
        {
            { GenAiConventions.OperationName, GenAiConventions.ChatOperation },
            { GenAiConventions.ProviderName, this.provider },
            { GenAiConventions.RequestModel, this.instrumentation.Models.Tag(this.requestModel) },
        };

        /// <summary>Ends the call, whichever way it ended: the one place that stops its clock, records its usage and
        /// cost, tags its span, makes the one call into the request, fails the step and records the GenAI metrics.</summary>
        public readonly void End(in CallResult result, CancellationToken callerToken)
        {
            // A call that failed is put down to the model the request runs on; one that answered, to the model that did.
            var model = result.Succeeded ? result.ResponseModel ?? this.requestModel : this.request?.Model ?? this.requestModel;
            var resolved = this.instrumentation.Models.Resolve(this.provider, model);

            // Tokens count when the call consumed them: an answer, or a stream that broke off or was left part way.
            LlmUsage? usage = null;
            decimal? cost = null;
            if (result.Succeeded || result.Abandoned || (this.streaming && (!result.Completion.IsEmpty || result.Usage is not null)))
            {
                usage = this.MeasureUsage(result.Usage, result.Completion);
                cost = this.instrumentation.RecordUsage(this.request, resolved, usage.Value);
                this.instrumentation.Spend(this.request, resolved, cost);
            }

            string? prompt = null, completion = null;
            if (usage is { } used && resolved.Price is { } price && this.step.Activity is { IsAllDataRequested: true } priced)
            {
                // Which price the cost used: the entry id, with its tier when the call's input passed one.
                priced.SetTag(LlmApmTelemetry.Attributes.Price, price.ForInput(used.InputTokens).Id);
            }

            if (this.genAi && this.step.Activity is { IsAllDataRequested: true } activity)
            {
                TagUsage(activity, usage, result.Usage);
                if (result.Succeeded)
                {
                    activity.SetTag(GenAiConventions.ResponseModel, result.ResponseModel);
                    activity.SetTag(GenAiConventions.ResponseId, result.ResponseId);
                    if (result.FinishReason is { } reason)
                    {
                        activity.SetTag(GenAiConventions.ResponseFinishReasons, FinishReasons(reason));
                    }
                }
            }

            // The history keeps the prompt of a call that failed too; the completion only of one that answered.
            if (this.instrumentation.Options.CaptureMessageContent)
            {
                (prompt, completion) = this.Capture(this.genAi ? this.step.Activity : null, result);
            }
            else if (result.Succeeded && this.request is { } evaluated && this.instrumentation.Evaluations is not null)
            {
                // Capture off: online evaluators still get the call's last question and its answer, in memory only.
                evaluated.SetEvaluationContent(this.messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text, result.Completion.ToString());
            }

            this.request?.RecordCall(model, this.provider, usage, cost, prompt, completion);

            string? errorType = null;
            if (result.Error is { } error)
            {
                this.step.Fail(error, callerToken);
                errorType = this.step.ErrorType ?? LlmErrorTypes.Other;
            }
            else if (result.Abandoned)
            {
                errorType = LlmErrorTypes.Cancelled;
                this.step.Fail(errorType, "The consumer stopped reading the stream before its end.");
            }
            else if (result.FinishReason == ChatFinishReason.ContentFilter)
            {
                errorType = LlmErrorTypes.ContentFiltered;
                this.step.Fail(errorType, "The provider's content filter stopped the response.");
            }

            // The span ends after its exception event.
            var seconds = this.Stop();
            if (this.genAi)
            {
                this.RecordOperation(seconds, resolved, usage, errorType);
            }

            this.step.Dispose();
        }

        private static void TagUsage(Activity activity, LlmUsage? usage, UsageDetails? reported)
        {
            if (usage is not { } u)
            {
                return;
            }

            activity.SetTag(GenAiConventions.UsageInputTokens, u.InputTokens);
            activity.SetTag(GenAiConventions.UsageOutputTokens, u.OutputTokens);
            if (u.CachedInputTokens > 0)
            {
                activity.SetTag(GenAiConventions.UsageCacheReadInputTokens, u.CachedInputTokens);
            }

            if (u.ReasoningTokens > 0)
            {
                activity.SetTag(GenAiConventions.UsageReasoningOutputTokens, u.ReasoningTokens);
            }

            if (CacheCreationTokens(reported) is { } created)
            {
                activity.SetTag(GenAiConventions.UsageCacheCreationInputTokens, created);
            }

            if (u.Estimated)
            {
                activity.SetTag(LlmApmTelemetry.Attributes.UsageEstimated, true);
            }
        }

        /// <summary>Tokens written to the provider's prompt cache: Microsoft.Extensions.AI has no property for them, so a
        /// provider adapter reports them among its additional counts (Anthropic's name, or the conventions').</summary>
        private static long? CacheCreationTokens(UsageDetails? reported)
        {
            if (reported?.AdditionalCounts is not { Count: > 0 } counts)
            {
                return null;
            }

            foreach (var key in CacheCreationKeys)
            {
                if (counts.TryGetValue(key, out var value))
                {
                    return value;
                }
            }

            return null;
        }

        /// <summary>Ends the call's clock and returns its duration in seconds. With a span, the call's end is the
        /// span's end time: the span's duration, <c>llm.step.latency</c> and <c>gen_ai.client.operation.duration</c>
        /// are then one measurement, taken with one clock read.</summary>
        private readonly double Stop()
        {
            if (this.step.Activity is { } activity)
            {
                activity.SetEndTime(DateTime.UtcNow);
                return activity.Duration.TotalSeconds;
            }

            return Stopwatch.GetElapsedTime(this.start).TotalSeconds;
        }

        /// <summary>The usage the provider reported, else an estimate from the prompt and the text received.</summary>
        private readonly LlmUsage MeasureUsage(UsageDetails? details, Completion completion)
            => details is { InputTokenCount: not null } or { OutputTokenCount: not null }
                ? new LlmUsage(
                    details.InputTokenCount ?? 0,
                    details.OutputTokenCount ?? 0,
                    details.CachedInputTokenCount ?? 0,
                    details.ReasoningTokenCount ?? 0)
                { CacheWriteInputTokens = CacheCreationTokens(details) ?? 0 }
                : new LlmUsage(TokenEstimator.Count(this.messages), TokenEstimator.Count(completion.ToString()), Estimated: true);

        private readonly void RecordOperation(double seconds, ResolvedModel model, LlmUsage? usage, string? errorType)
        {
            var tags = new TagList
            {
                { GenAiConventions.OperationName, GenAiConventions.ChatOperation },
                { GenAiConventions.ProviderName, this.provider },
                { GenAiConventions.RequestModel, model.Tag },
            };
            if (errorType is not null)
            {
                tags.Add(GenAiConventions.ErrorType, errorType);
            }

            LlmApmInstruments.GenAiOperationDuration.Record(seconds, tags);

            // The conventions' token usage is the provider's count; an estimate goes there only when the host asks.
            if (usage is { } u && errorType is null && (!u.Estimated || this.instrumentation.Options.EstimateGenAiTokenUsage))
            {
                // TagList is a value: each copy of the three operation tags gets its own token type.
                var input = tags;
                input.Add(GenAiConventions.TokenType, GenAiConventions.TokenTypeInput);
                LlmApmInstruments.GenAiTokenUsage.Record(u.InputTokens, input);
                var output = tags;
                output.Add(GenAiConventions.TokenType, GenAiConventions.TokenTypeOutput);
                LlmApmInstruments.GenAiTokenUsage.Record(u.OutputTokens, output);
            }
        }

        /// <summary>With content capture on: tags the span with the redacted output messages (the input was tagged at
        /// the call's start), and returns the redacted prompt and, for a call that answered, completion for the history.</summary>
        private readonly (string? Prompt, string? Completion) Capture(Activity? activity, in CallResult result)
        {
            var instrumentation = this.instrumentation;
            var prompt = new StringBuilder();
            foreach (var message in this.messages)
            {
                if (prompt.Length > 0)
                {
                    prompt.Append('\n');
                }

                prompt.Append(message.Role.Value).Append(": ").Append(message.Text);
            }

            var redactedPrompt = instrumentation.Redact(prompt.ToString());
            if (!result.Succeeded)
            {
                return (redactedPrompt, null);
            }

            var redactedCompletion = instrumentation.Redact(result.Completion.ToString());
            if (activity is { IsAllDataRequested: true })
            {
                var finishReason = result.FinishReason?.Value;
                activity.SetTag(
                    GenAiConventions.OutputMessages,
                    result.Completion.Messages is { } messages
                        ? GenAiContentJson.Messages(messages, instrumentation.Redact, finishReason)
                        : GenAiContentJson.Messages([new ChatMessage(ChatRole.Assistant, result.Completion.ToString())], instrumentation.Redact, finishReason));
            }

            return (redactedPrompt, redactedCompletion);
        }
    }
}
