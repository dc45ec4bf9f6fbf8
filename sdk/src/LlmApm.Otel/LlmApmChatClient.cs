using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
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
        if (call is null)
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

        call.Complete(response.ModelId, response.ResponseId, response.FinishReason, response.Usage, response.Text);
        return response;
    }

    /// <inheritdoc/>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var call = this.Begin(messages, options, streaming: true);
        if (call is null)
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
                catch (Exception ex) when (call.Fail(ex, cancellationToken, text.ToString(), usage))
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
                call.Complete(modelId, responseId, finishReason, usage, text.ToString());
            }
            else if (!call.Ended)
            {
                // The consumer stopped reading before the end: the rest of the answer was never received.
                call.Abandon(text.ToString(), usage);
            }
        }
    }

    private CallScope? Begin(IEnumerable<ChatMessage> messages, ChatOptions? options, bool streaming)
    {
        var request = LlmRequest.Current;
        var instrumentation = request?.Instrumentation ?? this.configured ?? Fallback.Value;
        if (!instrumentation.Enabled || request is { Instrumentation: null })
        {
            return null;
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
                activity.SetTag("gen_ai.request.max_tokens", maxTokens);
            }

            if (options?.Temperature is { } temperature)
            {
                activity.SetTag("gen_ai.request.temperature", (double)temperature);
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

    /// <summary>The bookkeeping of one call.</summary>
    private sealed class CallScope(
        LlmApmInstrumentation instrumentation, LlmRequest? request, LlmStep step, IEnumerable<ChatMessage> messages,
        string? requestModel, string provider, bool streaming)
    {
        private readonly long start = Stopwatch.GetTimestamp();
        private long firstChunk;

        public bool Ended { get; private set; }

        public void FirstChunk()
        {
            if (this.firstChunk != 0 || !streaming)
            {
                return;
            }

            this.firstChunk = Stopwatch.GetTimestamp();
            var seconds = Stopwatch.GetElapsedTime(this.start, this.firstChunk).TotalSeconds;
            step.Activity?.SetTag("gen_ai.response.time_to_first_chunk", seconds);
            var modelTag = instrumentation.Models.Tag(request?.Model ?? requestModel);
            LlmApmInstruments.TimeToFirstToken.Record(seconds, new TagList
            {
                { LlmApmTelemetry.Attributes.TagRoute, request?.RouteTag ?? LlmApmInstruments.NoRoute },
                { LlmApmTelemetry.Attributes.TagModel, modelTag },
            });
            LlmApmInstruments.GenAiTimeToFirstChunk.Record(seconds, new TagList
            {
                { "gen_ai.operation.name", OperationName },
                { "gen_ai.provider.name", provider },
                { "gen_ai.request.model", modelTag },
            });
        }

        public void Complete(string? responseModel, string? responseId, ChatFinishReason? finishReason, UsageDetails? details, string completion)
        {
            this.Ended = true;
            var model = responseModel ?? requestModel;
            var usage = this.RecordUsage(model, details, completion);
            if (step.Activity is { IsAllDataRequested: true } activity)
            {
                activity.SetTag("gen_ai.response.model", responseModel);
                activity.SetTag("gen_ai.response.id", responseId);
                if (finishReason is { } reason)
                {
                    activity.SetTag("gen_ai.response.finish_reasons", FinishReasons(reason));
                }

                this.Capture(activity, completion);
            }

            if (finishReason == ChatFinishReason.ContentFilter)
            {
                step.Fail(LlmErrorTypes.ContentFiltered, "The provider's content filter stopped the response.");
            }

            this.RecordOperation(model, usage, finishReason == ChatFinishReason.ContentFilter ? LlmErrorTypes.ContentFiltered : null);
            step.Dispose();
        }

        public bool Fail(Exception exception, CancellationToken callerToken, string? partial = null, UsageDetails? details = null)
        {
            this.Ended = true;
            step.Fail(exception, callerToken);
            var model = request?.Model ?? requestModel;
            LlmUsage? usage = null;
            if (streaming && (partial is { Length: > 0 } || details is not null))
            {
                // A stream that broke off still consumed the prompt and the tokens streamed so far.
                usage = this.RecordUsage(model, details, partial ?? string.Empty);
            }

            var type = step.ErrorType ?? LlmErrorTypes.Other;
            step.Activity?.SetTag(LlmApmTelemetry.Attributes.ErrorType, type);
            this.RecordOperation(model, usage, type);
            step.Dispose();
            return false;
        }

        public void Abandon(string partial, UsageDetails? details)
        {
            this.Ended = true;
            step.Fail(LlmErrorTypes.Cancelled, "The consumer stopped reading the stream before its end.");
            var model = request?.Model ?? requestModel;
            var usage = this.RecordUsage(model, details, partial);
            this.RecordOperation(model, usage, LlmErrorTypes.Cancelled);
            step.Dispose();
        }

        private LlmUsage RecordUsage(string? model, UsageDetails? details, string completion)
        {
            var usage = details is { InputTokenCount: not null } or { OutputTokenCount: not null }
                ? new LlmUsage(
                    details.InputTokenCount ?? 0,
                    details.OutputTokenCount ?? 0,
                    details.CachedInputTokenCount ?? 0,
                    details.ReasoningTokenCount ?? 0)
                : new LlmUsage(TokenEstimator.Count(messages), TokenEstimator.Count(completion), Estimated: true);

            if (request is not null && model is not null)
            {
                request.Model = model;
            }

            instrumentation.RecordUsage(request, model, usage);
            if (step.Activity is { IsAllDataRequested: true } activity)
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

        private void RecordOperation(string? model, LlmUsage? usage, string? errorType)
        {
            var modelTag = instrumentation.Models.Tag(model);
            var tags = new TagList
            {
                { "gen_ai.operation.name", OperationName },
                { "gen_ai.provider.name", provider },
                { "gen_ai.request.model", modelTag },
            };
            if (errorType is not null)
            {
                tags.Add("error.type", errorType);
            }

            LlmApmInstruments.GenAiOperationDuration.Record(Stopwatch.GetElapsedTime(this.start).TotalSeconds, tags);
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

        private void Capture(Activity activity, string completion)
        {
            if (!instrumentation.Options.CaptureMessageContent)
            {
                return;
            }

            var prompt = new StringBuilder();
            foreach (var message in messages)
            {
                if (prompt.Length > 0)
                {
                    prompt.Append('\n');
                }

                prompt.Append(message.Role.Value).Append(": ").Append(message.Text);
            }

            var redactedPrompt = instrumentation.Redact(prompt.ToString());
            var redactedCompletion = instrumentation.Redact(completion);
            activity.SetTag("gen_ai.input.messages", ToMessagesJson(messages, instrumentation));
            activity.SetTag("gen_ai.output.messages", JsonSerializer.Serialize(new[] { new { role = "assistant", parts = new[] { new { type = "text", content = redactedCompletion } } } }));
            request?.SetContent(redactedPrompt, redactedCompletion);
        }

        private static string ToMessagesJson(IEnumerable<ChatMessage> messages, LlmApmInstrumentation instrumentation)
            => JsonSerializer.Serialize(messages.Select(m => new
            {
                role = m.Role.Value,
                parts = new[] { new { type = "text", content = instrumentation.Redact(m.Text) } },
            }));
    }
}
