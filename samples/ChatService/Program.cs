using System.Threading.RateLimiting;
using ChatService.Chat;
using ChatService.Configuration;
using ChatService.Conversations;
using ChatService.Errors;
using ChatService.Hosting;
using ChatService.Llm;
using ChatService.Tools;
using LlmApm.Otel;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

const string DefaultUrl = "http://127.0.0.1:5080";

// `--demo` is a switch, not a key=value pair: take it out before the command-line configuration sees it.
var demo = args.Contains("--demo", StringComparer.OrdinalIgnoreCase);
var builder = WebApplication.CreateBuilder(args.Where(a => !string.Equals(a, "--demo", StringComparison.OrdinalIgnoreCase)).ToArray());
if (demo)
{
    builder.Configuration.AddInMemoryCollection([new($"{ChatServiceOptions.SectionName}:{nameof(ChatServiceOptions.DemoTraffic)}", "true")]);
}

// 127.0.0.1:5080 unless --urls, ASPNETCORE_URLS, ASPNETCORE_HTTP_PORTS or a Kestrel endpoint says otherwise.
if (string.IsNullOrEmpty(builder.Configuration["urls"])
    && string.IsNullOrEmpty(builder.Configuration["http_ports"])
    && string.IsNullOrEmpty(builder.Configuration["https_ports"])
    && !builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
{
    builder.WebHost.UseUrls(DefaultUrl);
}

// Configuration, validated at start-up.
builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<LlmOptions>, LlmOptionsValidator>();
builder.Services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.SectionName).ValidateOnStart();
builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<ChatServiceOptions>, ChatServiceOptionsValidator>();
builder.Services.AddOptions<ChatServiceOptions>().BindConfiguration(ChatServiceOptions.SectionName).ValidateOnStart();

// LLM-APM: request and step spans, llm_* metrics, history (durable on SQLite by default), dashboard and /metrics.
builder.AddLlmApm();
HistoryStorage.AddChatServiceHistory(builder);
if (builder.Configuration.GetValue<bool>($"{ChatServiceOptions.SectionName}:{nameof(ChatServiceOptions.Evaluation)}"))
{
    builder.Services.AddLlmApmEvaluator(new LlmRefusalEvaluator()); // off the request path, on the sampled answers
}

builder.Services.AddOptions<LlmApmOptions>().Configure<IOptions<LlmOptions>>((apm, llm) =>
{
    apm.ErrorClassifiers.Add(ChatFailureException.Classify);
    apm.ErrorClassifiers.Add(ResilientChatClient.ClassifyTotalTimeout); // an attempt cut by Llm:TotalTimeout is a timeout
    apm.Models.Add(llm.Value.Model); // the configured model is bounded: keep it verbatim in metric tags
});
builder.Services.AddLlmApmEndpoints(o =>
{
    o.ChatEndpoint = ChatEndpoints.ChatPath;
    o.ChatStreamEndpoint = ChatEndpoints.StreamPath;
});
var aspNetCoreInstrumentation = builder.Configuration.GetSection(ChatServiceOptions.SectionName)
    .GetValue(nameof(ChatServiceOptions.AspNetCoreInstrumentation), defaultValue: true);
builder.Services.AddOpenTelemetry()
    .ConfigureResource(resource =>
    {
        if (string.IsNullOrEmpty(builder.Configuration["OTEL_SERVICE_NAME"]))
        {
            resource.AddService("ChatService", serviceVersion: typeof(ChatEndpoints).Assembly.GetName().Version?.ToString());
        }
    })
    .WithTracing(tracing =>
    {
        // HttpClient's own spans (.NET 9+): a provider's HTTP call and a tool's call to an internal API are http steps
        // of the request, nested under the step that made them.
        tracing.AddSource("System.Net.Http");
        if (aspNetCoreInstrumentation)
        {
            tracing.AddAspNetCoreInstrumentation(o =>
                o.Filter = context => !context.Request.Path.StartsWithSegments("/metrics") && !context.Request.Path.StartsWithSegments("/health"));
        }
    })
    .WithMetrics(metrics =>
    {
        if (aspNetCoreInstrumentation)
        {
            metrics.AddAspNetCoreInstrumentation();
        }

        if (builder.Configuration.GetSection(ChatServiceOptions.SectionName).GetValue<bool>(nameof(ChatServiceOptions.RuntimeMetrics)))
        {
            // .NET's own meter (GC, thread pool, memory): off by default, a few of its names fail promtool's lint.
            metrics.AddMeter("System.Runtime");
        }
    });

// No request body larger than the chat's limit, on any endpoint.
builder.WebHost.ConfigureKestrel((context, kestrel) => kestrel.Limits.MaxRequestBodySize =
    context.Configuration.GetSection(ChatServiceOptions.SectionName).GetValue(nameof(ChatServiceOptions.MaxRequestBodyBytes), 64 * 1024));

// The chat: LLM client, conversations, endpoints.
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddLlmChatClient();
builder.Services.AddSingleton<ConversationStore>();
builder.Services.AddSingleton<ChatHandler>();
builder.Services.AddSingleton<ChatProblemMapper>();
builder.Services.AddHostedService<DemoTrafficServiceGate>();

// Errors as problem details, with requestId and traceId; also for a streaming client that accepts only events.
builder.Services.AddSingleton<IProblemDetailsWriter, EventStreamProblemDetailsWriter>();
builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
    ProblemDetailsExtensions.Complete(context.HttpContext, context.ProblemDetails));
builder.Services.AddExceptionHandler<ChatExceptionHandler>();

// Per-client rate limit of the chat endpoints.
builder.Services.AddRateLimiter(limiter =>
{
    limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
    limiter.AddPolicy(ChatEndpoints.RateLimitPolicy, context =>
    {
        var limit = context.RequestServices.GetRequiredService<IOptions<ChatServiceOptions>>().Value.RateLimit;
        return RateLimitPartition.GetFixedWindowLimiter(
            context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = limit.PermitLimit, Window = limit.Window, QueueLimit = 0 });
    });
    limiter.OnRejected = ChatRateLimitRejection.WriteAsync;
});
builder.Services.AddHealthChecks().AddLlmApmHistory(); // Degraded while the history database fails

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseRateLimiter();

app.MapGet("/", () => Results.Redirect("/llm-apm/#/chat")).ExcludeFromDescription();
app.MapHealthChecks("/health");
app.MapChatEndpoints();
app.MapOrders(); // the internal API the lookup_order tool calls
app.MapLlmApm();

app.LogAddressesOnStart();
var started = false;
app.Lifetime.ApplicationStarted.Register(() => started = true);
try
{
    await app.RunAsync().ConfigureAwait(false);
}
catch (Exception) when (!started) // the host is disposed by now: read nothing of it here
{
    // The host has logged why it could not start (invalid options, LlmApm:Sqlite:Required with a broken database):
    // exit with 1 rather than abort on an unhandled exception.
    return 1;
}

return 0;

/// <summary>The entry point; public for <c>WebApplicationFactory&lt;Program&gt;</c> in the tests.</summary>
public partial class Program
{
}
