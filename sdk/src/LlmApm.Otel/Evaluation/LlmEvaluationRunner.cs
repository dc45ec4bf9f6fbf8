using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;

namespace LlmApm.Otel;

/// <summary>
/// Runs the evaluators on a sample of finished requests, one request at a time, on a background task: off the request
/// path, which only offers the request to a bounded queue (never waits). What cannot be evaluated (a full queue, a
/// throwing or slow evaluator, no content for an evaluator that needs it) is counted in
/// <c>llm_evaluation_dropped_total</c> by reason.
/// </summary>
internal sealed class LlmEvaluationRunner : IDisposable
{
    internal const string QueueFull = "queue_full";
    internal const string Failed = "failed";
    internal const string TimedOut = "timeout";
    internal const string NoContent = "no_content";

    internal static readonly Counter<long> Dropped = LlmApmInstruments.Meter.CreateCounter<long>(
        LlmApmTelemetry.Metrics.EvaluationDropped, "{evaluation}", "Evaluations of sampled LLM requests that gave no score, by reason: queue_full, failed, timeout, no_content.");

    private readonly LlmApmInstrumentation instrumentation;
    private readonly IReadOnlyList<LlmEvaluator> evaluators;
    private readonly LlmEvaluationOptions options;
    private readonly Channel<LlmEvaluationInput> queue;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task loop;

    public LlmEvaluationRunner(LlmApmInstrumentation instrumentation, IReadOnlyList<LlmEvaluator> evaluators)
    {
        this.instrumentation = instrumentation;
        this.evaluators = evaluators;
        this.options = instrumentation.Options.Evaluation;
        this.queue = Channel.CreateBounded<LlmEvaluationInput>(new BoundedChannelOptions(Math.Max(1, this.options.QueueCapacity))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then says false, and the drop is counted
        });

        // Publish the counter at zero, so that an alert on its increase has a series from the start.
        Dropped.Add(0, new KeyValuePair<string, object?>("reason", QueueFull));
        this.loop = Task.Run(this.RunAsync);
    }

    /// <summary>Gets or sets the sampling draw, 0 (inclusive) to 1 (exclusive); tests replace it.</summary>
    internal Func<double> Draw { get; set; } = Random.Shared.NextDouble;

    /// <summary>Offers a finished request: sampled, then queued without waiting. Never throws.</summary>
    public void Offer(LlmRequest request, string status)
    {
        if (string.Equals(request.Route, this.options.Route, StringComparison.Ordinal) || this.Draw() >= this.options.SampleRate)
        {
            return;
        }

        var input = new LlmEvaluationInput(request.Id, request.Route, request.Model, status, request.CapturedPrompt ?? request.EvaluationPrompt, request.CapturedCompletion ?? request.EvaluationCompletion);
        if (!this.queue.Writer.TryWrite(input))
        {
            Dropped.Add(this.evaluators.Count, new KeyValuePair<string, object?>("reason", QueueFull));
        }
    }

    public void Dispose()
    {
        this.queue.Writer.TryComplete();
        this.stopping.Cancel();
        try
        {
            this.loop.Wait(TimeSpan.FromSeconds(2));
        }
        catch (AggregateException ex)
        {
            LlmApmEventSource.Log.CallbackFailed("evaluation runner", ex);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var input in this.queue.Reader.ReadAllAsync(this.stopping.Token).ConfigureAwait(false))
            {
                foreach (var evaluator in this.evaluators)
                {
                    await this.EvaluateAsync(evaluator, input).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (this.stopping.IsCancellationRequested)
        {
        }
    }

    private async Task EvaluateAsync(LlmEvaluator evaluator, LlmEvaluationInput input)
    {
        if (evaluator.NeedsContent && (input.Prompt is null || input.Completion is null))
        {
            Count(NoContent);
            return;
        }

        // In a request of its own route: an evaluator's LLM calls are counted there, and its failure fails only it.
        using var request = this.instrumentation.StartRequest(this.options.Route, cancellationToken: this.stopping.Token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(this.stopping.Token);
        timeout.CancelAfter(this.options.Timeout);
        try
        {
            // WaitAsync gives up on an evaluator that ignores its token; it keeps running, unobserved, but no longer holds the queue.
            var scores = await evaluator.EvaluateAsync(input, timeout.Token).AsTask().WaitAsync(this.options.Timeout, this.stopping.Token).ConfigureAwait(false);
            foreach (var score in scores ?? [])
            {
                this.instrumentation.AddScore(input.RequestId, score);
            }
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && timeout.IsCancellationRequested && !this.stopping.IsCancellationRequested))
        {
            request.Fail(LlmErrorTypes.Timeout, $"The evaluator {evaluator.Name} took longer than {this.options.Timeout}.");
            Count(TimedOut);
        }
        catch (Exception ex) when (!this.stopping.IsCancellationRequested)
        {
            request.Fail(ex);
            Count(Failed);
            LlmApmEventSource.Log.CallbackFailed("evaluator " + evaluator.Name, ex);
        }
    }

    private static void Count(string reason) => Dropped.Add(1, new TagList { { "reason", reason } });
}
