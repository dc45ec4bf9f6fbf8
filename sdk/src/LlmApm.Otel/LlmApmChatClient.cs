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
public sealed class LlmApmChatClient : DelegatingChatClient
{
    private const string OperationName = "chat";
    private static readonly string[] FinishReasonStop = [ChatFinishReason.Stop.Value];
    private static readonly string[] FinishReasonLength = [ChatFinishReason.Length.Value];
    private static readonly string[] FinishReasonToolCalls = [ChatFinishReason.ToolCalls.Value];
    private static readonly string[] FinishReasonContentFilter = [ChatFinishReason.ContentFilter.Value];
    private static readonly Lazy<LlmApmInstrumentation> Fallback = new(LlmApmInstrumentationFactory.CreateDefault);

    private readonly LlmApmInstrumentation? configured;
    private readonly string providerName;
    private readonly string? defaultModel;
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
    }

    /// <inheritdoc/>
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var call = this.Begin(messages, options, streaming: false);
        if (!call.Active)
        {
            return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }

        ChatResponse response;
        try
        {
            response = await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (call.Fail(ex, cancellationToken))
        {
            throw; // Never reached: the filter returns false.
        }

        call.Complete(response.ModelId, response.ResponseId, response.FinishReason, response.Usage, new Completion(response));
        return response;
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

        IAsyncEnumerator<ChatResponseUpdate> enumerator;
        try
        {
            enumerator = base.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        }
        catch (Exception ex) when (call.Fail(ex, cancellationToken))
        {
            throw; // Never reached.
        }

        var completed = false;
        string? modelId = null, responseId = null;
        ChatFinishReason? finishReason = null;
        UsageDetails? usage = null;
        var text = new StringBuilder();
        try
        {
            while (true)
            {
                ChatResponseUpdate update;
                try
                {
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                    {
                        completed = true;
                        break;
                    }

                    update = enumerator.Current;
                }
                catch (Exception ex) when (call.Fail(ex, cancellationToken, new Completion(text), usage))
                {
                    throw; // Never reached.
                }

                modelId ??= update.ModelId;
                responseId ??= update.ResponseId;
                finishReason ??= update.FinishReason;
                foreach (var content in update.Contents)
                {
                    switch (content)
                    {
                        case TextContent { Text.Length: > 0 } textContent:
                            call.FirstChunk();
                            text.Append(textContent.Text);
                            break;
                        case UsageContent usageContent:
                            usage = usageContent.Details;
                            break;
                    }
                }

                yield return update;
            }
        }
        finally
        {
            await enumerator.DisposeAsync().ConfigureAwait(false);
            if (completed)
            {
                call.Complete(modelId, responseId, finishReason, usage, new Completion(text));
            }
            else if (!call.Ended)
            {
                // The consumer stopped reading before the end: the rest of the answer was never received.
                call.Abandon(new Completion(text), usage);
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
        var step = LlmStep.Start(LlmApmTelemetry.Steps.LlmApiCall, ActivityKind.Client, this.GetSpanName(model), request);
        if (step.Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("gen_ai.operation.name", OperationName);
            activity.SetTag("gen_ai.provider.name", this.providerName);
            activity.SetTag("gen_ai.request.model", model);
            if (options?.MaxOutputTokens is { } maxTokens)
            {
                activity.SetTag("gen_ai.request.max_tokens", Box(ref this.lastMaxTokens, maxTokens));
            }

            if (options?.Temperature is { } temperature)
            {
                activity.SetTag("gen_ai.request.temperature", Box(ref this.lastTemperature, (double)temperature));
            }

            if (request?.ConversationId is { } conversationId)
            {
                activity.SetTag(LlmApmTelemetry.Attributes.ConversationId, conversationId);
            }
        }

        if (request is not null)
        {
            request.Model ??= model;
            request.Provider ??= this.providerName;
        }

        return new CallScope(instrumentation, request, step, messages, model, this.providerName, streaming);
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
            return OperationName;
        }

        var last = Volatile.Read(ref this.lastSpanName);
        if (last is not null && string.Equals(last.Model, model, StringComparison.Ordinal))
        {
            return last.Name;
        }

        var name = string.Concat(OperationName, " ", model);
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

        public override string ToString() => this.response?.Text ?? this.streamed?.ToString() ?? string.Empty;
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

        // The call's clock when it has no span; with a span, the span's start and end are the call's.
        private readonly long start;
        private bool firstChunk;

        public CallScope(
            LlmApmInstrumentation instrumentation, LlmRequest? request, LlmStep step, IEnumerable<ChatMessage> messages,
            string? requestModel, string provider, bool streaming)
        {
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

        public bool Ended { get; private set; }

        public void FirstChunk()
        {
            if (this.firstChunk || !this.streaming)
            {
                return;
            }

            this.firstChunk = true;
            var activity = this.step.Activity;
            var seconds = activity is null
                ? Stopwatch.GetElapsedTime(this.start).TotalSeconds
                : (DateTime.UtcNow - activity.StartTimeUtc).TotalSeconds;
            activity?.SetTag("gen_ai.response.time_to_first_chunk", seconds);
            var modelTag = this.instrumentation.Models.Tag(this.request?.Model ?? this.requestModel);
            LlmApmInstruments.TimeToFirstToken.Record(seconds, new TagList
            {
                { LlmApmTelemetry.Attributes.TagRoute, this.request?.RouteTag ?? LlmApmInstruments.NoRoute },
                { LlmApmTelemetry.Attributes.TagModel, modelTag },
            });
            LlmApmInstruments.GenAiTimeToFirstChunk.Record(seconds, new TagList
            {
                { "gen_ai.operation.name", OperationName },
                { "gen_ai.provider.name", this.provider },
                { "gen_ai.request.model", modelTag },
            });
        }

        public void Complete(string? responseModel, string? responseId, ChatFinishReason? finishReason, UsageDetails? details, Completion completion)
        {
            this.Ended = true;
            var seconds = this.Stop();
            var model = responseModel ?? this.requestModel;
            var resolved = this.instrumentation.Models.Resolve(model);
            var usage = this.RecordUsage(model, resolved, details, completion);
            var contentFiltered = finishReason == ChatFinishReason.ContentFilter;
            if (this.step.Activity is { IsAllDataRequested: true } activity)
            {
                activity.SetTag("gen_ai.response.model", responseModel);
                activity.SetTag("gen_ai.response.id", responseId);
                if (finishReason is { } reason)
                {
                    activity.SetTag("gen_ai.response.finish_reasons", FinishReasons(reason));
                }

                this.Capture(activity, completion);
            }

            if (contentFiltered)
            {
                this.step.Fail(LlmErrorTypes.ContentFiltered, "The provider's content filter stopped the response.");
            }

            this.RecordOperation(seconds, resolved, usage, contentFiltered ? LlmErrorTypes.ContentFiltered : null);
            this.step.Dispose();
        }

        public bool Fail(Exception exception, CancellationToken callerToken, Completion partial = default, UsageDetails? details = null)
        {
            this.Ended = true;
            this.step.Fail(exception, callerToken);
            var seconds = this.Stop();
            var model = this.request?.Model ?? this.requestModel;
            var resolved = this.instrumentation.Models.Resolve(model);
            LlmUsage? usage = null;
            if (this.streaming && (!partial.IsEmpty || details is not null))
            {
                // A stream that broke off still consumed the prompt and the tokens streamed so far.
                usage = this.RecordUsage(model, resolved, details, partial);
            }

            var type = this.step.ErrorType ?? LlmErrorTypes.Other;
            this.step.Activity?.SetTag(LlmApmTelemetry.Attributes.ErrorType, type);
            this.RecordOperation(seconds, resolved, usage, type);
            this.step.Dispose();
            return false;
        }

        public void Abandon(Completion partial, UsageDetails? details)
        {
            this.Ended = true;
            this.step.Fail(LlmErrorTypes.Cancelled, "The consumer stopped reading the stream before its end.");
            var seconds = this.Stop();
            var model = this.request?.Model ?? this.requestModel;
            var resolved = this.instrumentation.Models.Resolve(model);
            var usage = this.RecordUsage(model, resolved, details, partial);
            this.RecordOperation(seconds, resolved, usage, LlmErrorTypes.Cancelled);
            this.step.Dispose();
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

        private readonly LlmUsage RecordUsage(string? model, ResolvedModel resolved, UsageDetails? details, Completion completion)
        {
            var usage = details is { InputTokenCount: not null } or { OutputTokenCount: not null }
                ? new LlmUsage(
                    details.InputTokenCount ?? 0,
                    details.OutputTokenCount ?? 0,
                    details.CachedInputTokenCount ?? 0,
                    details.ReasoningTokenCount ?? 0)
                : new LlmUsage(TokenEstimator.Count(this.messages), TokenEstimator.Count(completion.ToString()), Estimated: true);

            if (this.request is not null && model is not null)
            {
                this.request.Model = model;
            }

            this.instrumentation.RecordUsage(this.request, resolved, usage);
            if (this.step.Activity is { IsAllDataRequested: true } activity)
            {
                activity.SetTag("gen_ai.usage.input_tokens", usage.InputTokens);
                activity.SetTag("gen_ai.usage.output_tokens", usage.OutputTokens);
                if (usage.CachedInputTokens > 0)
                {
                    activity.SetTag("gen_ai.usage.cache_read.input_tokens", usage.CachedInputTokens);
                }

                if (usage.Estimated)
                {
                    activity.SetTag(LlmApmTelemetry.Attributes.UsageEstimated, true);
                }
            }

            return usage;
        }

        private readonly void RecordOperation(double seconds, ResolvedModel model, LlmUsage? usage, string? errorType)
        {
            var tags = new TagList
            {
                { "gen_ai.operation.name", OperationName },
                { "gen_ai.provider.name", this.provider },
                { "gen_ai.request.model", model.Tag },
            };
            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            LlmApmInstruments.GenAiOperationDuration.Record(seconds, tags);
            if (usage is { } u && errorType is null)
            {
                // TagList is a value: each copy of the three operation tags gets its own token type.
                var input = tags;
                input.Add("gen_ai.token.type", "input");
                LlmApmInstruments.GenAiTokenUsage.Record(u.InputTokens, input);
                var output = tags;
                output.Add("gen_ai.token.type", "output");
                LlmApmInstruments.GenAiTokenUsage.Record(u.OutputTokens, output);
            }
        }

        private readonly void Capture(Activity activity, Completion completion)
        {
            var instrumentation = this.instrumentation;
            if (!instrumentation.Options.CaptureMessageContent)
            {
                return;
            }

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
            var redactedCompletion = instrumentation.Redact(completion.ToString());
            activity.SetTag("gen_ai.input.messages", ToMessagesJson(this.messages, instrumentation));
            activity.SetTag("gen_ai.output.messages", LlmApmJsonContext.SerializeMessages([GenAiMessage.Text("assistant", redactedCompletion)]));
            this.request?.SetContent(redactedPrompt, redactedCompletion);
        }

        private static string ToMessagesJson(IEnumerable<ChatMessage> messages, LlmApmInstrumentation instrumentation)
            => LlmApmJsonContext.SerializeMessages([.. messages.Select(m => GenAiMessage.Text(m.Role.Value, instrumentation.Redact(m.Text)))]);
    }
}
