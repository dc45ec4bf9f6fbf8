namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Endpoint metadata of an LLM endpoint (added by <c>WithLlmApm()</c>).</summary>
/// <param name="Route">The route the endpoint's requests are recorded under.</param>
internal sealed record LlmApmEndpointMetadata(string Route);
