using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.Benchmarks;

/// <summary>An <see cref="IChatClient"/> that answers at once from cached objects and allocates nothing itself, so
/// that what a benchmark measures is the instrumentation around it.</summary>
internal sealed class NoopChatClient : IChatClient
{
    public const string Model = "gpt-4o-mini";

    private static readonly ChatClientMetadata Metadata = new("openai", new Uri("http://127.0.0.1/"), Model);

    private static readonly ChatResponse Response = new(new ChatMessage(ChatRole.Assistant, "Hello! How can I help?"))
    {
        ModelId = Model,
        ResponseId = "resp-1",
        FinishReason = ChatFinishReason.Stop,
        Usage = new UsageDetails { InputTokenCount = 42, OutputTokenCount = 7, TotalTokenCount = 49 },
    };

    private static readonly Task<ChatResponse> ResponseTask = Task.FromResult(Response);

    // A short stream: three text chunks, then the usage (as providers send it, in the last update).
    private static readonly ChatResponseUpdate[] Updates =
    [
        new(ChatRole.Assistant, "Hello! ") { ModelId = Model, ResponseId = "resp-1" },
        new(ChatRole.Assistant, "How can ") { ModelId = Model, ResponseId = "resp-1" },
        new(ChatRole.Assistant, "I help?") { ModelId = Model, ResponseId = "resp-1" },
        new()
        {
            ModelId = Model,
            ResponseId = "resp-1",
            FinishReason = ChatFinishReason.Stop,
            Contents = [new UsageContent(new UsageDetails { InputTokenCount = 42, OutputTokenCount = 7, TotalTokenCount = 49 })],
        },
    ];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        => ResponseTask;

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in Updates)
        {
            yield return update;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
        => serviceKey is null && serviceType == typeof(ChatClientMetadata) ? Metadata
            : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
            : null;

    public void Dispose()
    {
    }
}
