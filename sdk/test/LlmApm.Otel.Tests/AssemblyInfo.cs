// Test classes run in parallel, each in its own collection (xUnit's default). LLM-APM's ActivitySource and Meter are
// static and named "LlmApm", so every tracer and meter provider in this process sees every test's spans and
// measurements. TestHost and MetricCollector keep only their own test's (TestScope); the classes that count through
// a provider of their own, ask whether the source has listeners, or set a sampler (another provider's sampler decides
// for the same span) join the collection below.
namespace LlmApm.Otel.Tests;

/// <summary>The classes that assert on process-wide telemetry. xUnit runs this collection alone, after the parallel
/// ones, so that no other test's spans or measurements reach what these tests count.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideTelemetry
{
    public const string Name = "Process-wide telemetry";
}
