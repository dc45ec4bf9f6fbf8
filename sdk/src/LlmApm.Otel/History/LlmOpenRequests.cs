using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace LlmApm.Otel.History;

/// <summary>
/// The hand-off from requests to the history processor: each request in progress, found by its span. A request
/// opens its entry when it starts; the processor finds a step's request through the step span's ancestors and takes
/// the entry when the request span ends.
/// </summary>
/// <remarks>Keyed weakly on the span: a request that is never disposed (an orphan) leaves nothing behind once its
/// span is collected, with no sweep; a custom property on the span would cost each request a dictionary.</remarks>
internal sealed class LlmOpenRequests
{
    private readonly ConditionalWeakTable<Activity, LlmStepBuffer> open = [];

    public void Open(Activity requestSpan, LlmStepBuffer buffer) => this.open.AddOrUpdate(requestSpan, buffer);

    public bool TryGet(Activity span, out LlmStepBuffer buffer) => this.open.TryGetValue(span, out buffer!);

    public bool TryTake(Activity requestSpan, out LlmStepBuffer buffer)
        => this.open.TryGetValue(requestSpan, out buffer!) && this.open.Remove(requestSpan);

    public void Close(Activity requestSpan) => this.open.Remove(requestSpan);
}
