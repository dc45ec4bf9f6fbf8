// Tests that count llm_history_dropped_total with a MeterListener see every store's drops in this process: they join
// this collection, which runs alone.
namespace LlmApm.Otel.PostgreSql.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideTelemetry
{
    public const string Name = "Process-wide telemetry";
}
