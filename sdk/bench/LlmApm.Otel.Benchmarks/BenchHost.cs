using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmApm.Otel;
using LlmApm.Otel.History;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace LlmApm.Otel.Benchmarks;

/// <summary>
/// A host as an application builds it: <c>AddLlmApm()</c> (its listener, history processor and meter) on the
/// OpenTelemetry providers, plus a raw <see cref="ActivitySource"/> and <see cref="Meter"/> with one no-op processor
/// and one pull reader, so that a baseline and the SDK are measured in the same process with the same providers.
/// </summary>
internal sealed class BenchHost : IDisposable
{
    public const string RawName = "Bench.Raw";

    // Microsoft.Extensions.AI's OpenTelemetryChatClient publishes on this source and meter.
    public const string ExtensionsAiName = "Experimental.Microsoft.Extensions.AI";

    public static readonly ActivitySource RawSource = new(RawName);
    public static readonly Meter RawMeter = new(RawName);

    private readonly ServiceProvider services;

    public BenchHost(Action<LlmApmOptions>? configure = null, bool metrics = true, bool tracing = true, ILlmHistoryStore? store = null)
    {
        var collection = new ServiceCollection();
        collection.AddLogging();
        if (store is not null)
        {
            collection.AddSingleton(store);
        }

        collection.AddLlmApm(o =>
        {
            o.HistoryCapacity = 10_000;
            configure?.Invoke(o);
        });
        var otel = collection.AddOpenTelemetry();
        if (tracing)
        {
            otel.WithTracing(t => t.AddSource(RawName, ExtensionsAiName).AddProcessor(new NoopProcessor()));
        }

        if (metrics)
        {
            otel.WithMetrics(m => m.AddMeter(RawName, ExtensionsAiName).AddReader(new BaseExportingMetricReader(new NoopMetricExporter())));
        }

        this.services = collection.BuildServiceProvider();
        this.Instrumentation = this.services.GetRequiredService<LlmApmInstrumentation>();
        this.TracerProvider = tracing ? this.services.GetRequiredService<TracerProvider>() : null;
        this.MeterProvider = metrics ? this.services.GetRequiredService<MeterProvider>() : null;
    }

    public LlmApmInstrumentation Instrumentation { get; }

    public TracerProvider? TracerProvider { get; }

    public MeterProvider? MeterProvider { get; }

    public IServiceProvider Services => this.services;

    public void Dispose() => this.services.Dispose();

    /// <summary>A history store that keeps nothing: the control run that tells what the history itself costs.</summary>
    internal sealed class DiscardingHistoryStore : ILlmHistoryStore
    {
        public long Add(LlmRequestRecord record) => 0;

        public LlmRequestRecord? Find(string id) => null;

        public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query) => [];

        public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from) => [];
    }

    /// <summary>A span processor that does nothing: the baseline's "one processor".</summary>
    internal sealed class NoopProcessor : BaseProcessor<Activity>
    {
    }

    /// <summary>An exporter behind a pull reader that nothing collects: instruments are on, nothing is exported.</summary>
    internal sealed class NoopMetricExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }
}
