using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests;

/// <summary>The sample's tools and retrieval through the real function invocation: a chat that asks for the time or an
/// order gives a record with the retrieve, embedding, model-call and tool steps, and a trace with the right parents.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed partial class ChatToolsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PostChat_AsksForTheTime_RetrieveToolAndTwoModelCallsInRecordAndTrace(bool stream)
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        using var response = await host.PostChatAsync(client, new { message = "What time is it?" }, stream);

        var after = DateTimeOffset.UtcNow.AddSeconds(1);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (text, done) = await ChatReplies.ReadAsync(response, stream);

        // The reply holds the tool's result: the current time, in UTC.
        var utc = UtcTime().Match(text);
        Assert.True(utc.Success, text);
        Assert.Contains("get_current_time", text, StringComparison.Ordinal);
        Assert.InRange(DateTimeOffset.ParseExact(utc.Groups[1].Value, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal), before, after);

        var record = await host.GetRecordAsync(client, done.GetProperty("requestId").GetString()!);
        Assert.Equal("ok", record.GetProperty("status").GetString());
        Assert.Equal(
            [
                ("preprocessing", "step", 0, "ok"),
                ("retrieve", "step", 0, "ok"),
                ("embedding_call", "embedding", 1, "ok"),
                ("llm_api_call", "llm_call", 0, "ok"),
                ("execute_tool get_current_time", "tool", 0, "ok"),
                ("llm_api_call", "llm_call", 0, "ok"),
                ("response_parsing", "step", 0, "ok"),
                ("saving", "step", 0, "ok"),
            ],
            Steps(record));

        // The trace: the request span has the steps and the tool loop as children; the loop has the model calls and
        // the tool; the retrieve step has the embedding call.
        var spans = await TraceAsync(host, done.GetProperty("traceId").GetString()!, expected: 10);
        var request = spans.Single(a => a.DisplayName.StartsWith("llm.request ", StringComparison.Ordinal));
        Assert.Equal(
            ["preprocessing", "retrieve", "orchestrate_tools", "response_parsing", "saving"],
            Children(spans, request).Select(a => a.DisplayName));
        var loop = spans.Single(a => a.DisplayName == "orchestrate_tools");
        Assert.Equal(["chat gpt-4o-mini", "execute_tool get_current_time", "chat gpt-4o-mini"], Children(spans, loop).Select(a => a.DisplayName));
        var tool = spans.Single(a => a.DisplayName == "execute_tool get_current_time");
        Assert.Equal(("execute_tool", "get_current_time", "function"), (tool.GetTagItem("gen_ai.operation.name"), tool.GetTagItem("gen_ai.tool.name"), tool.GetTagItem("gen_ai.tool.type")));
        Assert.NotEqual(ActivityStatusCode.Error, tool.Status);
        var retrieve = spans.Single(a => a.DisplayName == "retrieve");
        var embedding = Assert.Single(Children(spans, retrieve));
        Assert.Equal("embeddings text-embedding-3-small", embedding.DisplayName);
        Assert.Equal(SimulatedDimensions, embedding.GetTagItem("gen_ai.embeddings.dimension.count"));
        Assert.True(Convert.ToInt64(embedding.GetTagItem("gen_ai.usage.input_tokens"), CultureInfo.InvariantCulture) > 0);

        // Counts only on the retrieve step: the message and the documents stay out of the trace.
        Assert.True((int)retrieve.GetTagItem("retrieval.documents.used")! > 0);
        Assert.All(spans, a => Assert.DoesNotContain(a.TagObjects, t => t.Value is string s && s.Contains("What time is it", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PostChat_ToolWithBadArgument_FailedToolStepAndStillAReply(bool stream)
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "What time is it in Mars/Olympus_Mons?" }, stream);

        // The tool rejects the zone; the model is told why and answers: the chat itself succeeds.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (text, done) = await ChatReplies.ReadAsync(response, stream);
        Assert.Contains("I could not use get_current_time", text, StringComparison.Ordinal);
        Assert.Contains("'Mars/Olympus_Mons' is not a known IANA time zone", text, StringComparison.Ordinal);

        var record = await host.GetRecordAsync(client, done.GetProperty("requestId").GetString()!);
        Assert.Equal("ok", record.GetProperty("status").GetString());
        var step = Assert.Single(record.GetProperty("steps").EnumerateArray(), s => s.GetProperty("kind").GetString() == "tool");
        Assert.Equal(("execute_tool get_current_time", "error", "invalid_request"), (step.GetProperty("name").GetString(), step.GetProperty("status").GetString(), step.GetProperty("errorType").GetString()));
        Assert.Equal(2, record.GetProperty("steps").EnumerateArray().Count(s => s.GetProperty("name").GetString() == "llm_api_call"));

        var tool = (await TraceAsync(host, done.GetProperty("traceId").GetString()!, expected: 10)).Single(a => a.DisplayName == "execute_tool get_current_time");
        Assert.Equal(ActivityStatusCode.Error, tool.Status);
        Assert.Equal("System.ArgumentException", tool.GetTagItem("error.type"));

        // The tool's arguments and its error come from the user's message: no log line has them, at any level.
        Assert.DoesNotContain("Olympus_Mons", host.Logs.AllText, StringComparison.Ordinal);

        var metrics = await host.ScrapeAsync(client);
        Assert.Equal(1, metrics.Sum("llm_step_latency_seconds_count", ("step", "execute_tool get_current_time"), ("status", "error")));
        Assert.Equal(1, metrics.Sum("llm_requests_total", ("status", "ok")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PostChat_AsksForAnOrder_ToolCallsTheOrderApiAsAnHttpStepUnderTheTool(bool stream)
    {
        // Kestrel on a loopback port: the tool reaches the service's own order API over real HTTP.
        await using var host = new ChatServiceHost();
        host.UseKestrel(0);
        host.StartServer();
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "Where is order 1001?" }, stream);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (text, done) = await ChatReplies.ReadAsync(response, stream);
        Assert.Contains("Order 1001 is shipped: 2 × USB-C cable, 19.98 USD", text, StringComparison.Ordinal);

        var record = await host.GetRecordAsync(client, done.GetProperty("requestId").GetString()!);
        var steps = Steps(record);
        var tool = steps.FindIndex(s => s.Name == "execute_tool lookup_order");
        Assert.True(tool >= 0, string.Join(", ", steps));
        Assert.Equal(("execute_tool lookup_order", "tool", 0, "ok"), steps[tool]);
        Assert.Equal(($"GET {client.BaseAddress!.Host}", "http", 1, "ok"), steps[tool + 1]);
        Assert.DoesNotContain(steps, s => s.Name.Contains("/api/orders", StringComparison.Ordinal));

        // In the trace, the HTTP client span is the tool's child, and the order API's server span the client span's.
        var spans = await TraceAsync(host, done.GetProperty("traceId").GetString()!, expected: 12);
        var toolSpan = spans.Single(a => a.DisplayName == "execute_tool lookup_order");
        var http = Assert.Single(Children(spans, toolSpan));
        Assert.Equal((ActivityKind.Client, "System.Net.Http"), (http.Kind, http.Source.Name));
        Assert.Contains(spans, a => a.ParentSpanId == http.SpanId && a.Kind == ActivityKind.Server && (a.GetTagItem("http.route") as string) == "/api/orders/{id}");
    }

    [Fact]
    public async Task PostChat_UnknownOrderAndBadOrderId_ToolAnswersOrFailsWithoutHttp()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();

        // An id that is not digits is refused by the tool before any HTTP call.
        using var response = await host.PostChatAsync(client, new { message = "Where is order 12x?" });
        var (text, done) = await ChatReplies.ReadAsync(response, stream: false);
        Assert.Contains("'12x' is not an order id", text, StringComparison.Ordinal);
        var record = await host.GetRecordAsync(client, done.GetProperty("requestId").GetString()!);
        Assert.Contains(("execute_tool lookup_order", "tool", 0, "error"), Steps(record));
        Assert.DoesNotContain(Steps(record), s => s.Kind == "http");
    }

    [Fact]
    public async Task PostChat_RetrievalDisabled_NoRetrieveStep()
    {
        await using var host = new ChatServiceHost(ChatServiceHost.Settings(("ChatService:Retrieval:Enabled", "false")));
        using var client = host.CreateClient();

        using var response = await host.PostChatAsync(client, new { message = "How do returns work?" });
        var (_, done) = await ChatReplies.ReadAsync(response, stream: false);

        var record = await host.GetRecordAsync(client, done.GetProperty("requestId").GetString()!);
        Assert.Equal(["preprocessing", "llm_api_call", "response_parsing", "saving"], Steps(record).Select(s => s.Name));
    }

    [Fact]
    public async Task DemoTraffic_OneCycleOfPrompts_CallsEachToolAndRecordsItsSteps()
    {
        await using var host = new ChatServiceHost();
        host.UseKestrel(0);
        host.StartServer();
        using var client = host.CreateClient();

        // The demo's chats as it sends them (one cycle of its prompts), except the injected faults.
        var chats = Enumerable.Range(0, 20).Select(i => ChatService.Hosting.DemoTrafficService.NextChat(i, []))
            .Where(c => !c.Body.Message!.StartsWith("/fault", StringComparison.Ordinal))
            .ToList();
        var tools = new List<(string Name, string Kind, int Depth, string Status)>();
        foreach (var chat in chats)
        {
            using var response = await host.PostChatAsync(client, new { message = chat.Body.Message }, stream: chat.Path.EndsWith("/stream", StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var (_, done) = await ChatReplies.ReadAsync(response, chat.Path.EndsWith("/stream", StringComparison.Ordinal));
            var steps = Steps(await host.GetRecordAsync(client, done.GetProperty("requestId").GetString()!));
            Assert.Contains(("retrieve", "step", 0, "ok"), steps);
            tools.AddRange(steps.Where(s => s.Kind is "tool" or "http"));
        }

        Assert.Contains(("execute_tool get_current_time", "tool", 0, "ok"), tools);
        Assert.Contains(("execute_tool get_current_time", "tool", 0, "error"), tools);
        Assert.Contains(("execute_tool lookup_order", "tool", 0, "ok"), tools);
        Assert.Contains(($"GET {client.BaseAddress!.Host}", "http", 1, "ok"), tools);
    }

    private const int SimulatedDimensions = 256;

    private static List<(string Name, string Kind, int Depth, string Status)> Steps(JsonElement record)
        => record.GetProperty("steps").EnumerateArray()
            .Select(s => (s.GetProperty("name").GetString()!, s.GetProperty("kind").GetString()!, s.GetProperty("depth").GetInt32(), s.GetProperty("status").GetString()!))
            .ToList();

    private static List<Activity> Children(List<Activity> spans, Activity parent)
        => spans.Where(a => a.ParentSpanId == parent.SpanId).OrderBy(a => a.StartTimeUtc).ToList();

    /// <summary>The trace's spans, once at least <paramref name="expected"/> of them are exported (the request span ends last).</summary>
    private static async Task<List<Activity>> TraceAsync(ChatServiceHost host, string traceId, int expected)
    {
        List<Activity> spans = [];
        await Eventually.TrueAsync(() =>
        {
            spans = host.Spans.ToArray().Where(a => a.TraceId.ToHexString() == traceId).ToList();
            return spans.Count >= expected && spans.Any(a => a.DisplayName.StartsWith("llm.request ", StringComparison.Ordinal));
        });
        return spans;
    }

    [GeneratedRegex(@"The current time is (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) \(UTC\)")]
    private static partial Regex UtcTime();
}
