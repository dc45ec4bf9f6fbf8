using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.Testing;

/// <summary>
/// The one stand-in for an LLM provider in the tests, the AOT smoke app and the benchmarks: it answers in process
/// with a fixed reply and usage, streamed or not. Without a delay or a failure it answers from objects built once,
/// so that a benchmark measures the instrumentation around it and not the fake.
/// </summary>
internal sealed class FakeChatClient : IChatClient
{
    /// <summary>The model a fake answers with unless told otherwise.</summary>
    public const string DefaultModel = "gpt-4o-mini";

    private ChatResponse? response;
    private Task<ChatResponse>? responseTask;
    private ChatResponseUpdate[]? updates;

    /// <summary>Gets the text of a reply that is not streamed.</summary>
    public string Reply { get; init; } = "Hello there, friend.";

    /// <summary>Gets the text updates of a streamed reply, before the last update that carries the usage.</summary>
    public IReadOnlyList<string> Chunks { get; init; } = ["Hello", " there", ",", " friend", "."];

    /// <summary>Gets the model the provider reports in its response.</summary>
    public string Model { get; init; } = DefaultModel;

    /// <summary>Gets the usage the provider reports (in the response, or in the last streamed update); null for none.</summary>
    public UsageDetails? Usage { get; init; } = new() { InputTokenCount = 10, OutputTokenCount = 5 };

    /// <summary>Gets the exception the call throws, after the delay; null to answer.</summary>
    public Exception? Failure { get; init; }

    /// <summary>Gets how long the provider takes before answering, and before each streamed update.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Gets what the client says about its provider and default model; null for nothing.</summary>
    public ChatClientMetadata? Metadata { get; init; } = new("fake", null, DefaultModel);

    /// <summary>Gets the tool call the provider asks for while the conversation has no tool result yet; null for none.</summary>
    public FunctionCallContent? ToolCall { get; init; }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (this.ToolCall is { } call && !messages.Any(m => m.Contents.OfType<FunctionResultContent>().Any()))
        {
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, [call]))
            {
                ModelId = this.Model,
                ResponseId = "resp-tool",
                FinishReason = ChatFinishReason.ToolCalls,
                Usage = this.Usage,
            });
        }

        if (this.Failure is null && this.Delay == TimeSpan.Zero)
        {
            return this.responseTask ??= Task.FromResult(this.Response());
        }

        return this.AnswerLaterAsync(cancellationToken);
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (this.Failure is not null)
        {
            await Task.Delay(this.Delay, cancellationToken).ConfigureAwait(false);
            throw this.Failure;
        }

        foreach (var update in this.updates ??= this.Updates())
        {
            // Completes at once without a delay, yet still observes the caller's cancellation before each update.
            await Task.Delay(this.Delay, cancellationToken).ConfigureAwait(false);
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
        => serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? this.Metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;

    public void Dispose()
    {
    }

    private async Task<ChatResponse> AnswerLaterAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(this.Delay, cancellationToken).ConfigureAwait(false);
        return this.Failure is { } failure ? throw failure : this.Response();
    }

    private ChatResponse Response() => this.response ??= new ChatResponse(new ChatMessage(ChatRole.Assistant, this.Reply))
    {
        ModelId = this.Model,
        ResponseId = "resp-1",
        FinishReason = ChatFinishReason.Stop,
        Usage = this.Usage,
    };

    private ChatResponseUpdate[] Updates()
    {
        var last = new ChatResponseUpdate { ModelId = this.Model, ResponseId = "resp-1", FinishReason = ChatFinishReason.Stop };
        if (this.Usage is not null)
        {
            last.Contents.Add(new UsageContent(this.Usage));
        }

        return [.. this.Chunks.Select(c => new ChatResponseUpdate(ChatRole.Assistant, c) { ModelId = this.Model, ResponseId = "resp-1" }), last];
    }
}
