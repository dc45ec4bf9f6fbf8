using System.Diagnostics;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel;

/// <summary>
/// A Microsoft.Extensions.AI embedding generator middleware that records each call as the <c>embedding_call</c> step
/// of the current request: an <c>embeddings {model}</c> client span per the GenAI conventions, input tokens (the
/// provider's, else estimated and flagged), cost and the <c>gen_ai.client.*</c> metrics. Add it with
/// <c>generator.AsBuilder().UseLlmApm()</c>.
/// </summary>
internal sealed class LlmApmEmbeddingGenerator : DelegatingEmbeddingGenerator<string, Embedding<float>>
{
    private static readonly Lazy<LlmApmInstrumentation> Fallback = new(LlmApmInstrumentationFactory.CreateDefault);

    private readonly LlmApmInstrumentation? configured;
    private readonly string providerName;
    private readonly string? defaultModel;
    private readonly int? defaultDimensions;
    private readonly Uri? providerUri;
    private readonly bool openTelemetryInside;

    /// <summary>Initializes a new instance of the <see cref="LlmApmEmbeddingGenerator"/> class.</summary>
    /// <param name="innerGenerator">The generator to instrument.</param>
    /// <param name="instrumentation">The host's instrumentation; <c>null</c> uses the current request's, or defaults.</param>
    public LlmApmEmbeddingGenerator(IEmbeddingGenerator<string, Embedding<float>> innerGenerator, LlmApmInstrumentation? instrumentation = null)
        : base(innerGenerator)
    {
        this.configured = instrumentation;
        var metadata = innerGenerator.GetService<EmbeddingGeneratorMetadata>();
        this.providerName = metadata?.ProviderName ?? "unknown";
        this.defaultModel = metadata?.DefaultModelId;
        this.defaultDimensions = metadata?.DefaultModelDimensions;
        this.providerUri = metadata?.ProviderUri;
        this.openTelemetryInside = innerGenerator.GetService<OpenTelemetryEmbeddingGenerator<string, Embedding<float>>>() is not null;
    }

    /// <inheritdoc/>
    public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = LlmRequest.Current;
        var instrumentation = request?.Instrumentation ?? this.configured ?? Fallback.Value;
        if (!instrumentation.Enabled || request is { Instrumentation: null })
        {
            return await base.GenerateAsync(values, options, cancellationToken).ConfigureAwait(false);
        }

        var model = options?.ModelId ?? this.defaultModel;
        instrumentation.ThrowIfOverBudget(request, model);
        var start = Stopwatch.GetTimestamp();
        // Beside Microsoft.Extensions.AI's UseOpenTelemetry(), that generator makes the conventions' span and metrics.
        var genAi = !this.openTelemetryInside
            && !(Activity.Current is { } current && !ReferenceEquals(current.Source, LlmApmInstruments.Source)
                && current.GetTagItem(GenAiConventions.OperationName) is GenAiConventions.EmbeddingsOperation);
        var step = genAi
            ? LlmStep.Start(
                LlmApmTelemetry.Steps.EmbeddingCall,
                ActivityKind.Client,
                model is null ? GenAiConventions.EmbeddingsOperation : string.Concat(GenAiConventions.EmbeddingsOperation, " ", model),
                request)
            : LlmStep.Start(LlmApmTelemetry.Steps.EmbeddingCall, ActivityKind.Internal, spanName: null, request);
        if (genAi && step.Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag(GenAiConventions.OperationName, GenAiConventions.EmbeddingsOperation);
            activity.SetTag(GenAiConventions.ProviderName, this.providerName);
            activity.SetTag(GenAiConventions.RequestModel, model);
            GenAiConventions.TagServer(activity, this.providerUri);
            if ((options?.Dimensions ?? this.defaultDimensions) is { } dimensions)
            {
                activity.SetTag(GenAiConventions.EmbeddingsDimensionCount, dimensions);
            }
        }

        GeneratedEmbeddings<Embedding<float>> result;
        try
        {
            result = await base.GenerateAsync(values, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            step.Fail(ex, cancellationToken);
            this.RecordOperation(genAi, Stopwatch.GetElapsedTime(start).TotalSeconds, instrumentation.Models.Tag(model), usage: null, step.ErrorType ?? LlmErrorTypes.Other);
            step.Dispose();
            throw;
        }

        var responseModel = result.Count > 0 ? result[0].ModelId : null;
        var resolved = instrumentation.Models.Resolve(this.providerName, responseModel ?? model);
        var usage = result.Usage?.InputTokenCount is { } reported
            ? new LlmUsage(reported, 0)
            : new LlmUsage(values.Sum(TokenEstimator.Count), 0, Estimated: true);
        var cost = instrumentation.RecordUsage(request, resolved, usage);
        request?.AddUsage(usage, cost);
        instrumentation.Spend(request, resolved, cost);
        if (genAi && step.Activity is { IsAllDataRequested: true } done)
        {
            done.SetTag(GenAiConventions.ResponseModel, responseModel);
            done.SetTag(GenAiConventions.UsageInputTokens, usage.InputTokens);
            if (usage.Estimated)
            {
                done.SetTag(LlmApmTelemetry.Attributes.UsageEstimated, true);
            }

            if (result.Count > 0 && options?.Dimensions is null && this.defaultDimensions is null)
            {
                done.SetTag(GenAiConventions.EmbeddingsDimensionCount, result[0].Vector.Length);
            }
        }

        if (resolved.Price is { } price && step.Activity is { IsAllDataRequested: true } priced)
        {
            priced.SetTag(LlmApmTelemetry.Attributes.Price, price.ForInput(usage.InputTokens).Id);
        }

        this.RecordOperation(genAi, Stopwatch.GetElapsedTime(start).TotalSeconds, resolved.Tag, usage, errorType: null);
        step.Dispose();
        return result;
    }

    /// <summary>The conventions' client metrics: the duration of every call, and the input tokens of a call that
    /// answered when the provider counted them (an estimate goes only to <c>llm.tokens</c>, flagged on the span).</summary>
    private void RecordOperation(bool genAi, double seconds, string modelTag, LlmUsage? usage, string? errorType)
    {
        if (!genAi)
        {
            return;
        }

        var tags = new TagList
        {
            { GenAiConventions.OperationName, GenAiConventions.EmbeddingsOperation },
            { GenAiConventions.ProviderName, this.providerName },
            { GenAiConventions.RequestModel, modelTag },
        };
        if (errorType is not null)
        {
            tags.Add(GenAiConventions.ErrorType, errorType);
        }

        LlmApmInstruments.GenAiOperationDuration.Record(seconds, tags);
        if (usage is { Estimated: false } u)
        {
            tags.Add(GenAiConventions.TokenType, GenAiConventions.TokenTypeInput);
            LlmApmInstruments.GenAiTokenUsage.Record(u.InputTokens, tags);
        }
    }
}
