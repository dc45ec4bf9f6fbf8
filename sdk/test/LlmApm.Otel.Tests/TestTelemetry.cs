using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmApm.Otel.History;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace LlmApm.Otel.Tests;

/// <summary>A host with LLM-APM and in-memory trace export, built inside each test.</summary>
internal sealed class TestHost : IDisposable
{
    private readonly IHost host;

    private TestHost(IHost host, List<Activity> exported)
    {
        this.host = host;
        this.Exported = exported;
    }

    public List<Activity> Exported { get; }

    public IServiceProvider Services => this.host.Services;

    public LlmApmInstrumentation Instrumentation => this.host.Services.GetRequiredService<LlmApmInstrumentation>();

    public ILlmHistoryStore History => this.host.Services.GetRequiredService<ILlmHistoryStore>();

    public static TestHost Start(Action<LlmApmOptions>? configure = null, Sampler? sampler = null, Action<HostApplicationBuilder>? build = null)
    {
        var exported = new List<Activity>();
        var scope = TestScope.Current;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.AddLlmApm(configure);
        builder.Services.AddOpenTelemetry().WithTracing(t =>
        {
            t.AddProcessor(new SimpleActivityExportProcessor(new ScopedExporter(exported, scope)));
            if (sampler is not null)
            {
                t.SetSampler(sampler);
            }
        });
        build?.Invoke(builder);
        var host = builder.Build();
        host.Start();
        return new TestHost(host, exported);
    }

    public void Flush() => this.host.Services.GetRequiredService<TracerProvider>().ForceFlush();

    public void Dispose()
    {
        this.host.StopAsync().GetAwaiter().GetResult();
        this.host.Dispose();
    }

    /// <summary>Keeps the spans ended by the work of the test that started the host: the source is process-wide, so
    /// the provider sees the spans of every test running beside this one.</summary>
    private sealed class ScopedExporter(List<Activity> exported, object scope) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            // The simple processor exports on the thread that ends the span, in the flow of the work that ended it.
            if (TestScope.Contains(scope))
            {
                foreach (var activity in batch)
                {
                    exported.Add(activity);
                }
            }

            return ExportResult.Success;
        }
    }
}

/// <summary>
/// The test a flow of work belongs to. The first collector or host a test creates sets it; it flows with the
/// execution context into everything the test starts (its calls, its host's hosted services and timers), so that
/// tests running in parallel each keep only their own spans and measurements from LLM-APM's process-wide source and
/// meter.
/// </summary>
internal static class TestScope
{
    private static readonly AsyncLocal<object?> Scope = new();

    /// <summary>Gets the calling test's scope, created on first use. Set from a synchronous call, the value stays
    /// in the calling test method's flow.</summary>
    public static object Current => Scope.Value ??= new object();

    public static bool Contains(object scope) => ReferenceEquals(Scope.Value, scope);
}

/// <summary>Collects the measurements of the LlmApm meter with their tags, made by the work of the test that created
/// it (see <see cref="TestScope"/>).</summary>
internal sealed class MetricCollector : IDisposable
{
    private readonly MeterListener listener = new();
    private readonly object scope = TestScope.Current;

    public MetricCollector()
    {
        this.listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LlmApmTelemetry.MeterName)
            {
                this.Instruments[instrument.Name] = instrument;
                l.EnableMeasurementEvents(instrument);
            }
        };
        this.listener.SetMeasurementEventCallback<long>((i, v, tags, _) => this.Add(i, v, tags));
        this.listener.SetMeasurementEventCallback<double>((i, v, tags, _) => this.Add(i, v, tags));
        this.listener.Start();

        // The instruments are created with the SDK's static state: make sure it exists before a test asks for them.
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(LlmApmInstruments).TypeHandle);
    }

    public ConcurrentDictionary<string, Instrument> Instruments { get; } = new();

    public ConcurrentQueue<Measurement> Measurements { get; } = new();

    public IEnumerable<Measurement> Of(string instrument) => this.Measurements.Where(m => m.Instrument == instrument);

    public double Sum(string instrument, params (string Key, string Value)[] tags)
        => this.Of(instrument).Where(m => tags.All(t => m.Tag(t.Key) == t.Value)).Sum(m => m.Value);

    public void Dispose() => this.listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (TestScope.Contains(this.scope))
        {
            this.Measurements.Enqueue(new Measurement(instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString())));
        }
    }

    internal sealed record Measurement(string Instrument, double Value, Dictionary<string, string?> Tags)
    {
        public string? Tag(string key) => this.Tags.GetValueOrDefault(key);
    }
}
