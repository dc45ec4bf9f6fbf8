using System.ClientModel;
using ChatService.Configuration;
using ChatService.Llm;
using LlmApm.Otel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ChatService.Tests;

public sealed class SimulatedChatClientTests
{
    [Fact]
    public async Task GetResponseAsync_SamePrompt_SameReplyAndUsage()
    {
        using var client = Create();

        var first = await client.GetResponseAsync("Tell me about tracing");
        var second = await client.GetResponseAsync("Tell me about tracing");
        var other = await client.GetResponseAsync("Something else entirely");

        Assert.Equal(first.Text, second.Text);
        Assert.NotEqual(first.Text, other.Text);
        Assert.Equal(first.Usage!.OutputTokenCount, second.Usage!.OutputTokenCount);
        Assert.Equal(new TokenCounter().Count(first.Text), first.Usage.OutputTokenCount);
        Assert.True(first.Usage.InputTokenCount > 0);
        Assert.Equal("gpt-4o-mini", first.ModelId);
    }

    [Fact]
    public async Task GetStreamingResponseAsync_Reply_ChunksJoinToTheReplyAndUsageComesLast()
    {
        using var client = Create();
        var full = await client.GetResponseAsync("/echo one two three four five six seven eight");

        var updates = await client.GetStreamingResponseAsync("/echo one two three four five six seven eight").ToListAsync();

        Assert.True(updates.Count(u => u.Text.Length > 0) >= 3);
        Assert.Equal(full.Text, string.Concat(updates.Select(u => u.Text)));
        var usage = Assert.IsType<UsageContent>(Assert.Single(updates[^1].Contents));
        Assert.Equal(full.Usage!.OutputTokenCount, usage.Details.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
    }

    [Theory]
    [InlineData("What time is it?", "get_current_time", null)]
    [InlineData("what TIME IS IT in Europe/Paris please", "get_current_time", "timeZone=Europe/Paris")]
    [InlineData("Where is order #1003?", "lookup_order", "orderId=1003")]
    [InlineData("/tool lookup_order {\"orderId\":\"42\"}", "lookup_order", "orderId=42")]
    public async Task GetResponseAsync_MessageAsksForAnOfferedTool_CallsItThenAnswersWithItsResult(string message, string tool, string? argument)
    {
        using var client = Create();
        ChatOptions options = new() { Tools = [AIFunctionFactory.Create((string? timeZone) => "x", "get_current_time"), AIFunctionFactory.Create((string orderId) => "x", "lookup_order")] };
        List<ChatMessage> prompt = [new(ChatRole.User, message)];

        foreach (var streaming in new[] { false, true })
        {
            var response = streaming ? await client.GetStreamingResponseAsync(prompt, options).ToChatResponseAsync() : await client.GetResponseAsync(prompt, options);

            var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
            Assert.Equal(tool, call.Name);
            Assert.Equal(argument, call.Arguments!.Select(a => $"{a.Key}={a.Value}").SingleOrDefault());
            Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
            Assert.Equal(string.Empty, response.Text);

            List<ChatMessage> withResult = [.. prompt, .. response.Messages, new(ChatRole.Tool, [new FunctionResultContent(call.CallId, "It is noon.")])];
            var answer = streaming ? await client.GetStreamingResponseAsync(withResult, options).ToChatResponseAsync() : await client.GetResponseAsync(withResult, options);
            Assert.Equal($"I asked {tool}: It is noon.", answer.Text);
        }
    }

    [Theory]
    [InlineData("What time is it?")]
    [InlineData("Explain time to first token for order 1001.")]
    public async Task GetResponseAsync_ToolNotOffered_AnswersWithText(string message)
    {
        using var client = Create();

        var response = await client.GetResponseAsync(message, new ChatOptions { Tools = [AIFunctionFactory.Create(() => "x", "other_tool")] });

        Assert.Empty(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.NotEmpty(response.Text);
    }

    [Fact]
    public async Task GetResponseAsync_LongReplyOverMaxOutputTokens_TruncatedWithFinishReasonLength()
    {
        using var client = Create(o => o.MaxOutputTokens = 5);

        var response = await client.GetResponseAsync("/echo " + string.Join(' ', Enumerable.Repeat("word", 50)));

        Assert.Equal(5, response.Usage!.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
    }

    [Theory]
    [InlineData("rate_limited", 429)]
    [InlineData("provider_unavailable", 503)]
    [InlineData("content_filtered", 400)]
    [InlineData("context_length_exceeded", 400)]
    [InlineData("authentication", 401)]
    [InlineData("invalid_request", 400)]
    [InlineData("network", 0)]
    public async Task GetResponseAsync_FaultDirective_ThrowsWhatTheRealClientThrows(string type, int status)
    {
        using var client = Create();

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync($"/fault {type}"));

        Assert.Equal(status, error.Status);
        Assert.Equal(type, Classify(error));
        if (type == "rate_limited")
        {
            Assert.True(error.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var retryAfter));
            Assert.Equal("2", retryAfter);
        }
    }

    [Fact]
    public async Task GetResponseAsync_TimeoutFault_ThrowsTheClientTimeoutAfterTheTimeout()
    {
        using var client = Create(o => o.Timeout = TimeSpan.FromMilliseconds(200));
        var started = DateTime.UtcNow;

        var error = await Assert.ThrowsAsync<TaskCanceledException>(() => client.GetResponseAsync("/fault timeout"));

        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(190));
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Equal("timeout", Classify(error));
    }

    [Fact]
    public async Task GetResponseAsync_ConfiguredFaultRateOne_AlwaysFails()
    {
        using var client = Create(o => o.Simulated.Faults["provider_unavailable"] = 1.0);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync("hello"));

        Assert.Equal(503, error.Status);
    }

    [Fact]
    public async Task GetResponseAsync_ModelDirective_ReportsThatModel()
    {
        using var client = Create();

        var response = await client.GetResponseAsync("/model my-unpriced-model /echo hi");

        Assert.Equal("my-unpriced-model", response.ModelId);
        Assert.Equal("hi", response.Text);
        Assert.Equal("simulated", client.GetService<ChatClientMetadata>()!.ProviderName);
    }

    private static SimulatedChatClient Create(Action<LlmOptions>? configure = null)
    {
        var options = new LlmOptions();
        options.Simulated.TimeToFirstTokenMs = 0;
        options.Simulated.PerTokenMs = 0;
        configure?.Invoke(options);
        return new SimulatedChatClient(Options.Create(options), new TokenCounter(), TimeProvider.System);
    }

    // The type LLM-APM's built-in rules give the failure, as the service's error.type would carry it.
    private static string Classify(Exception error)
    {
        using var services = new ServiceCollection().AddLlmApm().BuildServiceProvider();
        return services.GetRequiredService<LlmApmInstrumentation>().ClassifyError(error);
    }
}
