using System.Diagnostics;
using LlmApm.Otel.History;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.Tests;

/// <summary>Tool calls through Microsoft.Extensions.AI's real function invocation, in either order of the two
/// middlewares: an <c>execute_tool</c> span per the GenAI conventions in the request's trace, a tool step in the history.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class LlmApmToolCallTests
{
    private const string Secret = "alice@example.com";

    public static TheoryData<bool> Orders => new() { true, false };

    [Theory]
    [MemberData(nameof(Orders))]
    public async Task GetResponseAsync_ToolCalled_ExecuteToolSpanAndToolStep(bool functionInvocationOutside)
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        var client = Build(host, functionInvocationOutside);

        using (host.Instrumentation.StartRequest("/api/tools"))
        {
            var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "what time is it?")], Options(() => "12:00"));
            Assert.Equal("Hello there, friend.", response.Text);
        }

        host.Flush();
        var request = Assert.Single(host.Exported, a => a.DisplayName == "llm.request /api/tools");
        var tool = Assert.Single(host.Exported, a => a.DisplayName == "execute_tool get_time");
        Assert.Equal(request.TraceId, tool.TraceId);
        Assert.Equal(ActivityKind.Internal, tool.Kind);
        Assert.Equal("execute_tool", tool.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("get_time", tool.GetTagItem("gen_ai.tool.name"));
        Assert.Equal("call-1", tool.GetTagItem("gen_ai.tool.call.id"));
        Assert.Equal("function", tool.GetTagItem("gen_ai.tool.type"));
        Assert.NotEqual(ActivityStatusCode.Error, tool.Status);
        Assert.Null(tool.GetTagItem("gen_ai.tool.call.arguments"));

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("ok", record.Status);
        var step = Assert.Single(record.Steps, s => s.Kind == LlmStepKinds.Tool);
        Assert.Equal(("execute_tool get_time", "ok", (string?)null), (step.Name, step.Status, step.ErrorType));
        Assert.InRange(step.OffsetMs, 0, record.DurationMs);

        // Outside, the function invocation calls the model twice through UseLlmApm(), model calls and tool side by side
        // under the request (its orchestrate_tools span is left out of the history); inside, UseLlmApm() sees one call.
        if (functionInvocationOutside)
        {
            Assert.Single(host.Exported, a => a.DisplayName == "orchestrate_tools");
            Assert.Equal(
                [("llm_api_call", LlmStepKinds.LlmCall, 0), ("execute_tool get_time", LlmStepKinds.Tool, 0), ("llm_api_call", LlmStepKinds.LlmCall, 0)],
                record.Steps.Select(s => (s.Name, s.Kind, s.Depth)));
        }
        else
        {
            Assert.Equal(
                [("llm_api_call", LlmStepKinds.LlmCall, 0), ("execute_tool get_time", LlmStepKinds.Tool, 1)],
                record.Steps.Select(s => (s.Name, s.Kind, s.Depth)));
        }
        var latency = Assert.Single(metrics.Of("llm.step.latency"), m => m.Tag("step") == "execute_tool get_time");
        Assert.Equal(("/api/tools", "ok"), (latency.Tag("route"), latency.Tag("status")));
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public async Task GetResponseAsync_ToolThrows_FailedToolStepWithClassifiedError(bool functionInvocationOutside)
    {
        using var host = TestHost.Start();
        var client = Build(host, functionInvocationOutside);

        using (host.Instrumentation.StartRequest("/api/tools"))
        {
            // The function invocation hands the failure to the model, which answers: the request itself succeeds.
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "what time is it?")], Options(string () => throw new TimeoutException("clock unreachable")));
        }

        host.Flush();
        var tool = Assert.Single(host.Exported, a => a.DisplayName == "execute_tool get_time");
        Assert.Equal(ActivityStatusCode.Error, tool.Status);
        Assert.NotNull(tool.GetTagItem("error.type"));

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery()));
        Assert.Equal("ok", record.Status);
        var step = Assert.Single(record.Steps, s => s.Kind == LlmStepKinds.Tool);
        Assert.Equal(("error", LlmErrorTypes.Timeout), (step.Status, step.ErrorType));
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public async Task GetResponseAsync_ContentCaptureOn_ToolArgumentsKeptRedacted(bool functionInvocationOutside)
    {
        using var host = TestHost.Start(o => o.CaptureMessageContent = true);
        var client = Build(host, functionInvocationOutside);

        using (host.Instrumentation.StartRequest("/api/tools"))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "what time is it?")], Options(() => $"12:00 for {Secret}"));
        }

        host.Flush();
        var tool = Assert.Single(host.Exported, a => a.DisplayName == "execute_tool get_time");
        var arguments = Assert.IsType<string>(tool.GetTagItem("gen_ai.tool.call.arguments"));
        Assert.Contains("\"zone\"", arguments, StringComparison.Ordinal);
        Assert.Contains("[REDACTED]", arguments, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, arguments, StringComparison.Ordinal);
        if (!functionInvocationOutside)
        {
            // LLM-APM wraps the invocation itself: the result is kept too.
            var result = Assert.IsType<string>(tool.GetTagItem("gen_ai.tool.call.result"));
            Assert.Contains("12:00 for [REDACTED]", result, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void GetService_ActivitySource_AnswersLlmApmSource()
    {
        using var host = TestHost.Start();
        var client = new FakeChatClient().AsBuilder().UseLlmApm().Build(host.Services);

        Assert.Equal(LlmApmTelemetry.SourceName, client.GetService<ActivitySource>()?.Name);
    }

    private static IChatClient Build(TestHost host, bool functionInvocationOutside)
    {
        var builder = new FakeChatClient { ToolCall = new FunctionCallContent("call-1", "get_time", new Dictionary<string, object?> { ["zone"] = $"utc {Secret}" }) }.AsBuilder();
        builder = functionInvocationOutside ? builder.UseFunctionInvocation().UseLlmApm() : builder.UseLlmApm().UseFunctionInvocation();
        return builder.Build(host.Services);
    }

    private static ChatOptions Options(Func<string> tool)
        => new() { Tools = [AIFunctionFactory.Create((string zone) => tool(), "get_time", "The current time in a time zone.")] };
}
