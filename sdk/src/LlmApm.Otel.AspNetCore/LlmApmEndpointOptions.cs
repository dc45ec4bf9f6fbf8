namespace LlmApm.Otel.AspNetCore;

/// <summary>
/// Options of the endpoints that <c>app.MapLlmApm()</c> maps: the history API, the live stream, the dashboard
/// and the Prometheus scrape endpoint. Bound from the <c>LlmApm:Dashboard</c> configuration section by
/// <c>services.AddLlmApmEndpoints()</c>; the <c>configure</c> delegate runs after the binding.
/// </summary>
public sealed class LlmApmEndpointOptions
{
    /// <summary>The configuration section the options are bound from: <c>LlmApm:Dashboard</c>.</summary>
    public const string ConfigurationSection = "LlmApm:Dashboard";

    /// <summary>The request header that carries the <see cref="AccessKey"/>: <c>X-LlmApm-Key</c>.</summary>
    public const string AccessKeyHeaderName = "X-LlmApm-Key";

    /// <summary>The query-string parameter that carries the <see cref="AccessKey"/>: <c>key</c>.</summary>
    public const string AccessKeyQueryName = "key";

    /// <summary>The cookie that remembers a valid <see cref="AccessKey"/> for the dashboard: <c>LlmApm.Key</c>.</summary>
    public const string AccessKeyCookieName = "LlmApm.Key";

    /// <summary>Gets or sets the absolute path of the host's chat endpoint (for example <c>/api/chat</c>), announced
    /// to the dashboard by <c>api/info</c>. Default: <c>null</c> (the host has no chat endpoint; <c>chat</c> is
    /// <c>null</c>).</summary>
    public string? ChatEndpoint { get; set; }

    /// <summary>Gets or sets the absolute path of the host's streaming chat endpoint (for example
    /// <c>/api/chat/stream</c>), announced by <c>api/info</c>. Default: <c>null</c>.</summary>
    public string? ChatStreamEndpoint { get; set; }

    /// <summary>Gets or sets the name of an authorization policy that protects every endpoint under the prefix.
    /// When set (or when the host calls <c>RequireAuthorization</c> on the group that <c>MapLlmApm</c> returns),
    /// the default loopback-only check and the <see cref="AccessKey"/> are off and ASP.NET Core authorization
    /// decides. Default: <c>null</c>.</summary>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>Gets or sets a shared secret that lets a non-loopback client in while the default loopback-only
    /// check is on (for example a browser outside a container). The client sends it in the
    /// <c>X-LlmApm-Key</c> header, or once as <c>?key=</c>, which sets an HttpOnly, SameSite=Strict cookie
    /// scoped to the prefix. Compared in constant time, never logged. Configuration:
    /// <c>LlmApm:Dashboard:AccessKey</c>. Default: <c>null</c> (loopback clients only).</summary>
    public string? AccessKey { get; set; }

    /// <summary>Gets or sets the path of the Prometheus scrape endpoint that <c>MapLlmApm</c> maps outside the
    /// prefix, open to every client like any Prometheus exporter. <c>null</c> or empty maps none (map your own
    /// with <c>MapPrometheusScrapingEndpoint</c>). Default: <c>/metrics</c>.</summary>
    public string? MetricsPath { get; set; } = "/metrics";

    /// <summary>Gets or sets the number of live-stream (<c>api/stream</c>) connections one client IP address may
    /// hold open; one more is answered <c>429</c>. Default: <c>4</c>.</summary>
    public int MaxStreamConnectionsPerClient { get; set; } = 4;

    /// <summary>Gets or sets the number of live-stream (<c>api/stream</c>) connections the server holds open at once,
    /// from all clients together; one more is answered <c>503</c> with <c>Retry-After</c>. Each finished request is
    /// written to every open stream. Default: <c>32</c>.</summary>
    public int MaxStreamConnections { get; set; } = 32;

    /// <summary>Gets or sets the interval of the <c>: keep-alive</c> comments on the live stream.
    /// Default: 15 seconds.</summary>
    public TimeSpan StreamKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Gets or sets how long one write to a live-stream client may take before the client is
    /// disconnected as too slow. Default: 10 seconds.</summary>
    public TimeSpan StreamWriteTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
