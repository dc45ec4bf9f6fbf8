namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Registered by <c>AddLlmApmEndpoints</c>: tells <c>MapLlmApm</c> that its services are there.</summary>
internal sealed class LlmApmEndpointsMarker;
