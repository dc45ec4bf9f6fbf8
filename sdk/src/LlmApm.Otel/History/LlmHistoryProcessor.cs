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
    private readonly LlmOpenRequests open = new();

    public LlmHistoryProcessor(LlmApmInstrumentation instrumentation)
    {
        this.instrumentation = instrumentation;

        // From now on the instrumentation's requests open their entry here: the one path from request to processor.
        instrumentation.OpenRequests = this.open;
    }

    public override void OnEnd(Activity data)
    {
        if (!ReferenceEquals(data.Source, LlmApmInstruments.Source))
        {
            return;
        }

        try
        {
            if (this.open.TryTake(data, out var finished))
            {
                this.Finish(finished, data);
                return;
            }

            // A step: recorded for the nearest request span among its ancestors that is still open.
            var depth = 0;
            for (var parent = data.Parent; parent is not null && depth < MaxDepth; parent = parent.Parent, depth++)
            {
                if (this.open.TryGet(parent, out var buffer))
                {
                    buffer.Add(new LlmStepRecord(
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

    private void Finish(LlmStepBuffer buffer, Activity activity)
    {
        var request = buffer.Request;
        var steps = buffer.Take();
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
            Usage = usage,
            CostUsd = request.CostUsd,
            Unpriced = request.Unpriced,
            Steps = steps,
            Scores = request.TakeScores(),
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
