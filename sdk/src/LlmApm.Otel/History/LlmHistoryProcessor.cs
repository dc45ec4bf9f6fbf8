using System.Diagnostics;
using Microsoft.Extensions.AI;
using OpenTelemetry;

namespace LlmApm.Otel.History;

/// <summary>
/// The span processor that assembles one history record per request span from its step spans, adds it to the store
/// and publishes it on the live feed. It never throws into or blocks the request path.
/// </summary>
internal sealed class LlmHistoryProcessor : BaseProcessor<Activity>
{
    private const int MaxDepth = 32;
    private readonly LlmApmInstrumentation instrumentation;
    private readonly LlmOpenRequests open = new();
    private readonly ToolTagger tools = new();
    private readonly LlmStepSources sources;
    private readonly int maxSourceSteps;
    private string? replica;

    public LlmHistoryProcessor(LlmApmInstrumentation instrumentation)
    {
        this.instrumentation = instrumentation;
        this.sources = new LlmStepSources(instrumentation.Options.StepSources);
        this.maxSourceSteps = instrumentation.Options.MaxSourceStepsPerRequest;

        // From now on the instrumentation's requests open their entry here: the one path from request to processor.
        instrumentation.OpenRequests = this.open;
    }

    public override void OnEnd(Activity data)
    {
        var own = ReferenceEquals(data.Source, LlmApmInstruments.Source);
        string? sourceKind = null;
        if (!own && (data.Parent is null || (sourceKind = this.sources.KindOf(data.Source)) is null))
        {
            // Another source's span is kept only inside a request, and only from a source of StepSources.
            return;
        }

        try
        {
            // A span with a step name is a step, never a request span: only the others are looked up as a request's
            // (request + 4 steps 3.50x -> 3.44x of raw spans, medians of five interleaved runs).
            var stepName = own ? data.GetTagItem(LlmApmTelemetry.Attributes.StepName) as string : null;
            if (own && stepName is null && this.open.TryTake(data, out var finished))
            {
                this.Finish(finished, data);
                return;
            }

            if (IsToolLoop(data))
            {
                return;
            }

            string? kind = null, errorType = null;
            if (own)
            {
                kind = LlmStepKinds.FromOperation(data.GetTagItem(GenAiConventions.OperationName) as string, stepName);
                errorType = data.GetTagItem(LlmApmTelemetry.Attributes.ErrorType) as string;
                if (ReferenceEquals(kind, LlmStepKinds.Tool) && data.Status == ActivityStatusCode.Error)
                {
                    // Microsoft.Extensions.AI names the exception's type; the history keeps its class.
                    errorType = LlmErrorClassifier.ClassifyTypeName(errorType);
                }
            }

            // A step: recorded for the nearest request span among its ancestors that is still open. Its depth counts
            // the ancestors that are steps themselves, so that it nests under the step that made it.
            LlmStepBuffer? owner = null;
            var depth = 0;
            var hops = 0;
            var ambient = LlmRequest.Current; // read once: the table tries it before hashing each ancestor
            for (var parent = data.Parent; parent is not null && hops < MaxDepth; parent = parent.Parent, hops++)
            {
                if (IsToolLoop(parent))
                {
                    continue;
                }

                if (!this.open.TryGet(parent, ambient, out var buffer))
                {
                    if (ReferenceEquals(parent.Source, LlmApmInstruments.Source) || this.sources.KindOf(parent.Source) is not null)
                    {
                        depth++;
                    }

                    continue;
                }

                owner = buffer;
                if (sourceKind is not null)
                {
                    buffer.AddFromSource(LlmStepSources.Step(data, sourceKind, (data.StartTimeUtc - parent.StartTimeUtc).TotalMilliseconds, depth), this.maxSourceSteps);
                }
                else
                {
                    buffer.Add(new LlmStepRecord(
                        stepName ?? data.DisplayName,
                        (data.StartTimeUtc - parent.StartTimeUtc).TotalMilliseconds,
                        data.Duration.TotalMilliseconds,
                        data.Status == ActivityStatusCode.Error ? "error" : "ok",
                        errorType,
                        depth,
                        kind!,
                        data.GetTagItem(LlmApmTelemetry.Attributes.Price) as string));
                }

                break;
            }

            if (ReferenceEquals(kind, LlmStepKinds.Tool))
            {
                this.RecordTool(data, owner?.Request, errorType);
            }
        }
        catch (Exception ex)
        {
            LlmApmEventSource.Log.HistoryFailed("assemble a record", ex);
        }
    }

    /// <summary>Microsoft.Extensions.AI's function invocation wraps every call, tools or not, in an <c>orchestrate_tools</c>
    /// span (not a convention) on the source its inner client names, LLM-APM's: the history leaves it out, so that the
    /// model calls and tools it groups are steps of the request as they would be without it.</summary>
    private static bool IsToolLoop(Activity activity)
        => ReferenceEquals(activity.Source, LlmApmInstruments.Source)
            && string.Equals(activity.OperationName, GenAiConventions.OrchestrateToolsSpan, StringComparison.Ordinal);

    /// <summary>A tool span made by Microsoft.Extensions.AI on LLM-APM's source: with content capture on, its arguments,
    /// redacted, when that library did not add them (it adds them only with its own sensitive-data switch).</summary>
    public override void OnStart(Activity data)
    {
        if (!ReferenceEquals(data.Source, LlmApmInstruments.Source)
            || !this.instrumentation.Options.CaptureMessageContent
            || !data.IsAllDataRequested
            || FunctionInvokingChatClient.CurrentContext is not { } context
            || !string.Equals(data.GetTagItem(GenAiConventions.OperationName) as string, GenAiConventions.ExecuteToolOperation, StringComparison.Ordinal)
            || data.GetTagItem(GenAiConventions.ToolCallArguments) is not null)
        {
            return;
        }

        try
        {
            data.SetTag(GenAiConventions.ToolCallArguments, LlmApmToolInvoker.CaptureJson(this.instrumentation, context.Arguments, context.Function.JsonSerializerOptions));
        }
        catch (Exception ex)
        {
            LlmApmEventSource.Log.HistoryFailed("capture a tool's arguments", ex);
        }
    }

    /// <summary>The <c>llm.step.latency</c> of a tool, whoever made its span: the step is <c>execute_tool {tool}</c>,
    /// the tool's name bounded as models are.</summary>
    private void RecordTool(Activity data, LlmRequest? request, string? errorType)
    {
        if (!LlmApmInstruments.StepLatency.Enabled)
        {
            return;
        }

        var tool = this.tools.Tag(data.GetTagItem(GenAiConventions.ToolName) as string);
        LlmApmInstruments.StepLatency.Record(data.Duration.TotalSeconds, new TagList
        {
            { LlmApmTelemetry.Attributes.TagRoute, request?.RouteTag ?? LlmApmInstruments.NoRoute },
            { LlmApmTelemetry.Attributes.TagStep, this.tools.StepName(tool) },
            { LlmApmTelemetry.Attributes.TagStatus, errorType is null && data.Status != ActivityStatusCode.Error ? LlmApmInstruments.StatusOk : LlmApmInstruments.StatusError },
        });
    }

    private static bool IsByOffset(LlmStepRecord[] steps)
    {
        for (var i = 1; i < steps.Length; i++)
        {
            if (steps[i].OffsetMs < steps[i - 1].OffsetMs)
            {
                return false;
            }
        }

        return true;
    }

    private void Finish(LlmStepBuffer buffer, Activity activity)
    {
        var request = buffer.Request;
        var steps = buffer.Take(out var droppedSteps);
        if (!IsByOffset(steps))
        {
            // Steps end in the order they started unless they overlap: sorted only then (not measured alone).
            Array.Sort(steps, static (a, b) => a.OffsetMs.CompareTo(b.OffsetMs));
        }

        // One lock for what the record reads of the request (usage, cost, properties, scores), not four (not measured
        // alone; with the request's own below, 5 lock pairs fewer per request).
        var totals = request.TakeTotals();
        var record = new LlmRequestRecord(request.Id, activity.TraceId, activity.SpanId, request.Route, request.ErrorType is null ? "ok" : "error")
        {
            StartTime = new DateTimeOffset(activity.StartTimeUtc, TimeSpan.Zero),
            DurationMs = activity.Duration.TotalMilliseconds,
            Model = request.Model,
            Provider = request.Provider,
            ConversationId = request.ConversationId,

            // The provider's resource is final once it calls its processors: read once, on the first record.
            Replica = this.replica ??= LlmReplica.Of(this.ParentProvider),
            UserId = request.UserId,
            TenantId = request.TenantId,
            Properties = totals.Properties,
            ErrorType = request.ErrorType,
            ErrorMessage = request.ErrorMessage,
            Usage = totals.Usage,
            CostUsd = totals.CostUsd,
            Unpriced = request.Unpriced,
            Steps = steps,
            DroppedSteps = droppedSteps,
            Scores = totals.Scores,
            Content = this.instrumentation.Options.CaptureMessageContent && (request.CapturedPrompt ?? request.CapturedCompletion) is not null
                ? new LlmContentRecord(request.CapturedPrompt, request.CapturedCompletion)
                : null,
        };

        long seq;
        try
        {
            seq = this.instrumentation.History.Add(record);
        }
        catch (Exception ex)
        {
            LlmApmInstruments.HistoryDropped.Add(1, LlmHistoryDropReason.StoreFailed);
            LlmApmEventSource.Log.HistoryFailed("store a record", ex);
            return;
        }

        // The live stream needs the number; a copy is made only when someone listens.
        if (this.instrumentation.Feed.SubscriberCount > 0)
        {
            this.instrumentation.Feed.Publish(record.WithSeq(seq));
        }
    }
}
