using System.Diagnostics;
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

    public LlmHistoryProcessor(LlmApmInstrumentation instrumentation)
    {
        this.instrumentation = instrumentation;
    }

    public override void OnEnd(Activity data)
    {
        if (!ReferenceEquals(data.Source, LlmApmInstruments.Source))
        {
            return;
        }

        try
        {
            // The request stopping a span on this thread (its own or a step's), else the ambient request: a step's
            // span stopped by other code, in the request's flow.
            var request = LlmRequest.Stopping ?? LlmRequest.Current;
            if (request?.Activity is not { } requestSpan || !ReferenceEquals(request.Instrumentation, this.instrumentation))
            {
                return;
            }

            if (ReferenceEquals(data, requestSpan))
            {
                this.Finish(request, data);
                return;
            }

            if (request.IsFinished)
            {
                return;
            }

            var depth = 0;
            for (var parent = data.Parent; parent is not null && depth < MaxDepth; parent = parent.Parent, depth++)
            {
                if (ReferenceEquals(parent, requestSpan))
                {
                    request.AddStep(new LlmStepRecord(
                        (data.GetTagItem(LlmApmTelemetry.Attributes.StepName) as string) ?? data.DisplayName,
                        (data.StartTimeUtc - parent.StartTimeUtc).TotalMilliseconds,
                        data.Duration.TotalMilliseconds,
                        data.Status == ActivityStatusCode.Error ? "error" : "ok",
                        data.GetTagItem(LlmApmTelemetry.Attributes.ErrorType) as string,
                        depth));
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            LlmApmEventSource.Log.HistoryFailed("assemble a record", ex);
        }
    }

    private void Finish(LlmRequest request, Activity activity)
    {
        var steps = request.TakeSteps();
        Array.Sort(steps, static (a, b) => a.OffsetMs.CompareTo(b.OffsetMs));
        var usage = request.Usage;
        var record = new LlmRequestRecord(request.Id, activity.TraceId, activity.SpanId, request.Route, request.ErrorType is null ? "ok" : "error")
        {
            StartTime = new DateTimeOffset(activity.StartTimeUtc, TimeSpan.Zero),
            DurationMs = activity.Duration.TotalMilliseconds,
            Model = request.Model,
            Provider = request.Provider,
            ConversationId = request.ConversationId,
            ErrorType = request.ErrorType,
            ErrorMessage = request.ErrorMessage,
            Tokens = new LlmTokenCounts
            {
                Input = usage.InputTokens,
                Output = usage.OutputTokens,
                CachedInput = usage.CachedInputTokens,
                Reasoning = usage.ReasoningTokens,
                Estimated = usage.Estimated,
            },
            CostUsd = request.CostUsd,
            Unpriced = request.Unpriced,
            Steps = steps,
            Content = this.instrumentation.Options.CaptureMessageContent && (request.CapturedPrompt ?? request.CapturedCompletion) is not null
                ? new LlmContentRecord(request.CapturedPrompt, request.CapturedCompletion)
                : null,
        };

        try
        {
            this.instrumentation.History.Add(record);
        }
        catch (Exception ex)
        {
            LlmApmInstruments.HistoryDropped.Add(1);
            LlmApmEventSource.Log.HistoryFailed("store a record", ex);
            return;
        }

        this.instrumentation.Feed.Publish(record);
    }
}
