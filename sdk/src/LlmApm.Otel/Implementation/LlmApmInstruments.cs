using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace LlmApm.Otel;

/// <summary>The process-wide activity source, meter and instruments of LLM-APM, created once.</summary>
internal static class LlmApmInstruments
{
    internal const string NoRoute = "none";
    internal const string UnknownModel = "unknown";
    internal const string OtherModel = "other";
    internal const string OtherRoute = "other";
    internal const string StatusOk = "ok";
    internal const string StatusError = "error";

    // Bucket boundaries in seconds: the exporter's defaults are milliseconds, so every histogram gets its own.
    internal static readonly double[] RequestLatencyBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120];
    internal static readonly double[] StepLatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    internal static readonly double[] TimeToFirstTokenBuckets = [0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6];

    // The GenAI semantic conventions' advice.
    internal static readonly double[] GenAiDurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    internal static readonly long[] GenAiTokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    internal static readonly string Version = GetVersion();

    internal static readonly ActivitySource Source = new(new ActivitySourceOptions(LlmApmTelemetry.SourceName) { Version = Version });

    internal static readonly Meter Meter = new(new MeterOptions(LlmApmTelemetry.MeterName) { Version = Version });

    internal static readonly Counter<long> Requests = Meter.CreateCounter<long>(
        LlmApmTelemetry.Metrics.Requests, "{request}", "Finished LLM requests, by route, model and status.");

    internal static readonly Histogram<double> RequestLatency = Meter.CreateHistogram(
        LlmApmTelemetry.Metrics.RequestLatency, "s", "Duration of whole LLM requests, streaming included.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RequestLatencyBuckets });

    internal static readonly Histogram<double> StepLatency = Meter.CreateHistogram(
        LlmApmTelemetry.Metrics.StepLatency, "s", "Duration of the steps of LLM requests.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StepLatencyBuckets });

    internal static readonly Counter<long> Tokens = Meter.CreateCounter<long>(
        LlmApmTelemetry.Metrics.Tokens, "{token}", "Tokens used by LLM calls, by type: input, output, cached_input, reasoning.");

    // No unit on purpose: a unit of USD would make the Prometheus series llm_cost_USD_total.
    internal static readonly Counter<double> Cost = Meter.CreateCounter<double>(
        LlmApmTelemetry.Metrics.CostUsd, unit: null, "Cost of LLM calls in US dollars, from the price table.");

    internal static readonly Counter<long> Errors = Meter.CreateCounter<long>(
        LlmApmTelemetry.Metrics.Errors, "{error}", "Failed LLM requests and steps, by classified error type.");

    internal static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram(
        LlmApmTelemetry.Metrics.TimeToFirstToken, "s", "Time from the start of a streamed LLM call to its first content.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TimeToFirstTokenBuckets });

    internal static readonly UpDownCounter<long> RequestsActive = Meter.CreateUpDownCounter<long>(
        LlmApmTelemetry.Metrics.RequestsActive, "{request}", "LLM requests in progress.");

    internal static readonly Counter<long> PriceMisses = Meter.CreateCounter<long>(
        LlmApmTelemetry.Metrics.PriceMisses, "{call}", "LLM calls to a model that has no price: their cost is unknown.");

    internal static readonly HistoryDropCounter HistoryDropped = new(Meter.CreateCounter<long>(
        LlmApmTelemetry.Metrics.HistoryDropped, "{record}", "Request history records a store could not keep, by reason."));

    internal static readonly Histogram<double> GenAiOperationDuration = Meter.CreateHistogram(
        GenAiConventions.OperationDurationMetric, "s", "GenAI operation duration.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = GenAiDurationBuckets });

    internal static readonly Histogram<long> GenAiTokenUsage = Meter.CreateHistogram(
        GenAiConventions.TokenUsageMetric, "{token}", "Number of input and output tokens used.",
        tags: null, advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = GenAiTokenBuckets });

    internal static readonly Histogram<double> GenAiTimeToFirstChunk = Meter.CreateHistogram(
        GenAiConventions.TimeToFirstChunkMetric, "s", "Time to receive the first chunk of a streamed GenAI response.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = GenAiDurationBuckets });

    // The conventions advise the operation duration's boundaries for both chunk histograms.
    internal static readonly Histogram<double> GenAiTimePerOutputChunk = Meter.CreateHistogram(
        GenAiConventions.TimePerOutputChunkMetric, "s", "Time between consecutive chunks of a streamed GenAI response, after the first.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = GenAiDurationBuckets });

    /// <summary>Counts a failure in <c>llm.errors</c>, once per exception however many steps and requests it fails
    /// on its way out; a failure without an exception always counts.</summary>
    internal static void CountError(Exception? exception, string route, string model, string step, string errorType)
    {
        if (exception is not null && !LlmApmInstrumentation.TryMarkCounted(exception))
        {
            return;
        }

        Errors.Add(1, new TagList
        {
            { LlmApmTelemetry.Attributes.TagRoute, route },
            { LlmApmTelemetry.Attributes.TagModel, model },
            { LlmApmTelemetry.Attributes.TagStep, step },
            { LlmApmTelemetry.Attributes.TagErrorType, errorType },
        });
    }

    private static string GetVersion()
    {
        var version = typeof(LlmApmInstruments).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(LlmApmInstruments).Assembly.GetName().Version?.ToString()
            ?? "0.0.0";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }

    /// <summary><c>llm.history.dropped</c> with its bounded <c>reason</c> tag (<see cref="History.LlmHistoryDropReason"/>).</summary>
    internal sealed class HistoryDropCounter(Counter<long> counter)
    {
        private static readonly KeyValuePair<string, object?>[][] Tags =
        [
            [new("reason", "store_failed")],
            [new("reason", "queue_full")],
            [new("reason", "write_failed")],
        ];

        public void Add(long count, History.LlmHistoryDropReason reason)
            => counter.Add(count, Tags[(int)reason is >= 0 and < 3 ? (int)reason : 0]);
    }
}
