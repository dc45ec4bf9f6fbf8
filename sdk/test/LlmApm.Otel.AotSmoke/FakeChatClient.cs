using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.AotSmoke;

/// <summary>An in-process chat client that answers "pong" with fixed usage, streamed or not.</summary>
internal sealed class FakeChatClient(string model) : IChatClient
{
    public const long InputTokens = 12;
    public const long OutputTokens = 3;

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        => Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "pong"))
        {
            ModelId = model,
            FinishReason = ChatFinishReason.Stop,
            Usage = Usage(),
        });

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        yield return new ChatResponseUpdate(ChatRole.Assistant, "po") { ModelId = model };
        yield return new ChatResponseUpdate(ChatRole.Assistant, "ng") { ModelId = model };
        yield return new ChatResponseUpdate { ModelId = model, FinishReason = ChatFinishReason.Stop, Contents = [new UsageContent(Usage())] };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private static UsageDetails Usage() => new() { InputTokenCount = InputTokens, OutputTokenCount = OutputTokens, TotalTokenCount = InputTokens + OutputTokens };
}
