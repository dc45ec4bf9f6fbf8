using System.Text.Json.Serialization;

namespace ChatService.Chat;

/// <summary>The body of <c>POST /api/chat</c> and <c>POST /api/chat/stream</c>. Any other field (<c>model</c>,
/// <c>max_tokens</c>, <c>temperature</c> ...) is ignored: the LLM settings belong to the service.</summary>
public sealed record ChatRequestBody(string? Message, string? ConversationId);

/// <summary>The answer of <c>POST /api/chat</c>, and without <see cref="Reply"/> the <c>done</c> event of the stream.</summary>
public sealed record ChatReply(
    string ConversationId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reply,
    string RequestId,
    string TraceId,
    string Model,
    ChatUsage Usage,
    decimal? CostUsd);

/// <summary>Token usage of one chat.</summary>
public sealed record ChatUsage(long InputTokens, long OutputTokens, long CachedInputTokens, long ReasoningTokens, bool Estimated);

/// <summary>A piece of a streamed reply (<c>event: delta</c>).</summary>
public sealed record ChatDelta(string Text);
