// Test classes run in parallel, each in its own collection (xUnit's default). LLM-APM's ActivitySource and Meter are
// static and named "LlmApm", so every tracer and meter provider in this process sees every test's spans and
// measurements: the classes that read an in-process host's spans or
// /metrics join the collection below; tests of a service in its own process run in parallel.
namespace ChatService.Tests;

/// <summary>The classes that assert on process-wide telemetry. xUnit runs this collection alone, after the parallel
/// ones, so that no other test's spans or measurements reach what these tests count.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideTelemetry
{
    public const string Name = "Process-wide telemetry";
}
