using System.ClientModel;
using System.Globalization;
using System.Net.Http;
using System.Net.Sockets;

namespace ChatService.Llm;

/// <summary>
/// The failures the simulated provider injects, thrown as the real OpenAI and Azure OpenAI clients throw them:
/// <see cref="ClientResultException"/> carrying the provider's status, headers and JSON error body; a network
/// failure as a status-0 <see cref="ClientResultException"/> over an <see cref="HttpRequestException"/>; a timeout
/// as the <see cref="TaskCanceledException"/> over a <see cref="TimeoutException"/> of the client's network timeout.
/// </summary>
internal static class SimulatedFaults
{
    public const string RateLimited = "rate_limited";
    public const string Timeout = "timeout";
    public const string ProviderUnavailable = "provider_unavailable";
    public const string ContentFiltered = "content_filtered";
    public const string ContextLengthExceeded = "context_length_exceeded";
    public const string Authentication = "authentication";
    public const string InvalidRequest = "invalid_request";
    public const string Network = "network";

    /// <summary>The <c>Retry-After</c> (seconds) of a simulated 429.</summary>
    public const int RetryAfterSeconds = 2;

    public static Exception Create(string type, TimeSpan timeout) => type switch
    {
        RateLimited => Client(429, "Too Many Requests", "rate_limit_exceeded", "requests",
            "Rate limit reached for requests of the simulated model. Please try again in 2s.",
            new Dictionary<string, string> { ["Retry-After"] = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture) }),
        ProviderUnavailable => Client(503, "Service Unavailable", null, "server_error",
            "The server is overloaded or not ready yet."),
        ContentFiltered => Client(400, "Bad Request", "content_filter", null,
            "The response was filtered due to the prompt triggering the content management policy."),
        ContextLengthExceeded => Client(400, "Bad Request", "context_length_exceeded", "invalid_request_error",
            "This model's maximum context length was exceeded. Please reduce the length of the messages."),
        Authentication => Client(401, "Unauthorized", "invalid_api_key", "invalid_request_error",
            "Incorrect API key provided."),
        InvalidRequest => Client(400, "Bad Request", null, "invalid_request_error",
            "The request is not valid for this model."),
        Network => new ClientResultException(
            "Connection refused (simulated-llm:443)",
            response: null,
            new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (simulated-llm:443)", new SocketException((int)SocketError.ConnectionRefused))),
        Timeout => CreateTimeout(timeout),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not a simulated fault type."),
    };

    public static TaskCanceledException CreateTimeout(TimeSpan timeout)
    {
        var message = string.Create(
            CultureInfo.InvariantCulture,
            $"The operation was cancelled because it exceeded the configured timeout of {timeout:c}. Network timeout can be adjusted in ClientPipelineOptions.NetworkTimeout.");
        return new TaskCanceledException(message, new TimeoutException(message));
    }

    private static ClientResultException Client(int status, string reason, string? code, string? type, string message, IReadOnlyDictionary<string, string>? headers = null)
    {
        var body = System.Text.Json.JsonSerializer.Serialize(new
        {
            error = new { message, type, param = (string?)null, code },
        });
        return new ClientResultException(new SimulatedPipelineResponse(status, reason, body, headers));
    }
}
