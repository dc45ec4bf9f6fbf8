// The native AOT smoke test of the SDK packages (run by build/aot-smoke.sh after a PublishAot publish).
// A slim ASP.NET Core host with AddLlmApm() configured through configuration, the SQLite history and MapLlmApm()
// on a loopback port; one request with a step and a UseLlmApm() chat call over an in-process fake client, one
// with a streaming call; then real HTTP GETs of the history API, the live stream, the OpenAPI document and /metrics.
// A second host over the same database reads the record back. Prints "aot-smoke: N passed, M failed" and exits 0
// only when every check passed.
using System.Diagnostics;
using System.Text.Json;
using LlmApm.Otel;
using LlmApm.Otel.AotSmoke;
using LlmApm.Otel.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.AI;

const string Route = "aot-smoke";
const string StreamRoute = "aot-smoke-stream";
const string Model = "aot-fake-model";
const long InputTokens = 12;
const long OutputTokens = 3;

var checks = new SmokeChecks();
var database = Path.Combine(Path.GetTempPath(), $"llm-apm-aot-smoke-{Environment.ProcessId}.db");

// The chat span's captured messages, as an exporter would see them.
string? inputMessages = null;
string? outputMessages = null;
using var listener = new ActivityListener
{
    ShouldListenTo = source => source.Name == LlmApmTelemetry.SourceName,
    Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    ActivityStopped = activity =>
    {
        if (activity.GetTagItem("gen_ai.input.messages") is string input && activity.Kind == ActivityKind.Client)
        {
            inputMessages ??= input;
            outputMessages ??= activity.GetTagItem("gen_ai.output.messages") as string;
        }
    },
};
ActivitySource.AddActivityListener(listener);

try
{
    string requestId;
    await using (var app = SmokeHost.Build(database))
    {
        await app.StartAsync();
        var baseAddress = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(baseAddress), Timeout = TimeSpan.FromSeconds(30) };

        // The live stream is opened first, so that it sees the requests below as they finish.
        using var stream = await http.GetAsync("/llm-apm/api/stream", HttpCompletionOption.ResponseHeadersRead);
        checks.Check("live stream opens", stream.IsSuccessStatusCode, $"HTTP {(int)stream.StatusCode}");
        var events = new StreamReader(await stream.Content.ReadAsStreamAsync());

        var apm = app.Services.GetRequiredService<LlmApmInstrumentation>();
        using var chat = new FakeChatClient
        {
            Model = Model,
            Reply = "pong",
            Chunks = ["po", "ng"],
            Usage = new UsageDetails { InputTokenCount = InputTokens, OutputTokenCount = OutputTokens, TotalTokenCount = InputTokens + OutputTokens },
            Metadata = null,
        }.AsBuilder().UseLlmApm().Build(app.Services);
        using (apm.StartRequest(Route))
        {
            using (LlmStep.Start("retrieval"))
            {
                await Task.Yield();
            }

            var reply = await chat.GetResponseAsync("ping");
            checks.Check("chat reply passes through", reply.Text == "pong", reply.Text);
        }

        using (apm.StartRequest(StreamRoute))
        {
            var text = new System.Text.StringBuilder();
            await foreach (var update in chat.GetStreamingResponseAsync("ping"))
            {
                text.Append(update.Text);
            }

            checks.Check("streamed reply passes through", text.ToString() == "pong", text.ToString());
        }

        // The history API: the newest record first.
        using var page = await GetJsonAsync(http, "/llm-apm/api/requests");
        var items = page.RootElement.GetProperty("items");
        checks.Check("api/requests lists both requests", items.GetArrayLength() == 2, page.RootElement.GetRawText());
        var record = items.EnumerateArray().FirstOrDefault(r => r.GetProperty("route").GetString() == Route);
        checks.Check("record has route, status and model", record.ValueKind == JsonValueKind.Object
            && record.GetProperty("status").GetString() == "ok"
            && record.GetProperty("model").GetString() == Model, record.ToString());
        requestId = record.ValueKind == JsonValueKind.Object ? record.GetProperty("id").GetString() ?? string.Empty : string.Empty;
        checks.Check("record has the fake client's tokens", record.ValueKind == JsonValueKind.Object
            && record.GetProperty("tokens").GetProperty("input").GetInt64() == InputTokens
            && record.GetProperty("tokens").GetProperty("output").GetInt64() == OutputTokens, record.ToString());
        checks.Check("record is priced from LlmApm:Prices configuration", record.ValueKind == JsonValueKind.Object
            && record.GetProperty("costUsd").ValueKind == JsonValueKind.Number
            && record.GetProperty("costUsd").GetDecimal() == SmokeHost.ExpectedCostUsd, record.ToString());
        var steps = record.ValueKind == JsonValueKind.Object
            ? record.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("name").GetString()).ToList()
            : [];
        checks.Check("record has the retrieval and llm_api_call steps", steps.Contains("retrieval") && steps.Contains("llm_api_call"), string.Join(",", steps));
        checks.Check("record has the captured prompt (content capture from configuration)", record.ValueKind == JsonValueKind.Object
            && record.GetProperty("content").ValueKind == JsonValueKind.Object
            && record.GetProperty("content").GetProperty("prompt").GetString()?.Contains("ping", StringComparison.Ordinal) == true, record.ToString());

        using (var one = await GetJsonAsync(http, $"/llm-apm/api/requests/{requestId}"))
        {
            checks.Check("api/requests/{id} returns the record", one.RootElement.GetProperty("id").GetString() == requestId, one.RootElement.GetRawText());
        }

        using (var summary = await GetJsonAsync(http, "/llm-apm/api/summary?window=5m"))
        {
            checks.Check("api/summary counts both requests", summary.RootElement.GetProperty("count").GetInt64() == 2, summary.RootElement.GetRawText());
        }

        using (var series = await GetJsonAsync(http, "/llm-apm/api/timeseries?window=1m"))
        {
            checks.Check("api/timeseries has buckets", series.RootElement.GetProperty("buckets").GetArrayLength() > 0, series.RootElement.GetRawText());
        }

        using (var info = await GetJsonAsync(http, "/llm-apm/api/info"))
        {
            checks.Check("api/info reports content capture", info.RootElement.GetProperty("contentCapture").GetBoolean(), info.RootElement.GetRawText());
        }

        using (var bad = await http.GetAsync("/llm-apm/api/requests?limit=0"))
        {
            var body = await bad.Content.ReadAsStringAsync();
            checks.Check("a bad parameter is a 400 problem with a request id", (int)bad.StatusCode == 400
                && bad.Content.Headers.ContentType?.MediaType == "application/problem+json"
                && body.Contains("\"requestId\"", StringComparison.Ordinal), $"HTTP {(int)bad.StatusCode} {body}");
        }

        using (var openApi = await GetJsonAsync(http, "/llm-apm/api/openapi.json"))
        {
            var text = openApi.RootElement.GetRawText();
            checks.Check("api/openapi.json documents the history API", text.Contains("LlmApmRequests", StringComparison.Ordinal)
                && text.Contains("costUsd", StringComparison.Ordinal), text.Length > 300 ? text[..300] : text);
        }

        var metrics = await http.GetStringAsync("/metrics");
        checks.Check("/metrics has llm_requests_total for the request", metrics.Split('\n').Any(l =>
            l.StartsWith("llm_requests_total{", StringComparison.Ordinal) && l.Contains($"route=\"{Route}\"", StringComparison.Ordinal)), Excerpt(metrics, "llm_requests_total"));
        checks.Check("/metrics has the GenAI token usage", metrics.Contains("gen_ai_client_token_usage", StringComparison.Ordinal), Excerpt(metrics, "gen_ai"));

        checks.Check("chat span has gen_ai.input.messages in the GenAI shape",
            inputMessages == "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"ping\"}]}]", inputMessages ?? "(none)");
        checks.Check("chat span has gen_ai.output.messages in the GenAI shape",
            outputMessages == "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"pong\"}],\"finish_reason\":\"stop\"}]", outputMessages ?? "(none)");

        var streamed = await ReadStreamEventsAsync(events, count: 2);
        checks.Check("live stream sends each finished request", streamed.Any(d => d.Contains($"\"route\":\"{Route}\"", StringComparison.Ordinal))
            && streamed.Any(d => d.Contains($"\"route\":\"{StreamRoute}\"", StringComparison.Ordinal)), string.Join(" | ", streamed));

        await app.StopAsync();
    }

    // A second host over the same database: the record comes back from SQLite.
    await using (var again = SmokeHost.Build(database))
    {
        await again.StartAsync();
        var baseAddress = again.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(baseAddress), Timeout = TimeSpan.FromSeconds(30) };
        using var restored = await GetJsonAsync(http, $"/llm-apm/api/requests/{requestId}");
        var root = restored.RootElement;
        checks.Check("the SQLite history restores the record", root.ValueKind == JsonValueKind.Object
            && root.GetProperty("id").GetString() == requestId
            && root.GetProperty("tokens").GetProperty("input").GetInt64() == InputTokens
            && root.GetProperty("steps").GetArrayLength() >= 2, root.GetRawText());
        await again.StopAsync();
    }
}
catch (Exception ex)
{
    checks.Check("smoke run completes", false, ex.ToString());
}
finally
{
    foreach (var file in new[] { database, database + "-wal", database + "-shm" })
    {
        File.Delete(file);
    }
}

return checks.Report();

static async Task<JsonDocument> GetJsonAsync(HttpClient http, string path)
{
    using var response = await http.GetAsync(path);
    var body = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode)
    {
        throw new HttpRequestException($"GET {path}: HTTP {(int)response.StatusCode} {body}");
    }

    return JsonDocument.Parse(body);
}

static async Task<List<string>> ReadStreamEventsAsync(StreamReader events, int count)
{
    var data = new List<string>();
    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
    while (data.Count < count && await events.ReadLineAsync(timeout.Token) is { } line)
    {
        if (line.StartsWith("data: ", StringComparison.Ordinal))
        {
            data.Add(line["data: ".Length..]);
        }
    }

    return data;
}

static string Excerpt(string text, string marker)
{
    var at = text.IndexOf(marker, StringComparison.Ordinal);
    return at < 0 ? "(absent)" : text.Substring(at, Math.Min(200, text.Length - at));
}
