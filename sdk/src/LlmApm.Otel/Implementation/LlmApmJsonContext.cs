using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmApm.Otel;

/// <summary>The JSON the core reads and writes, source-generated so that it needs no reflection (trimming, native
/// AOT): the shipped price file and the captured <c>gen_ai.input.messages</c> / <c>gen_ai.output.messages</c>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LlmPriceFile))]
[JsonSerializable(typeof(GenAiMessage[]))]
internal sealed partial class LlmApmJsonContext : JsonSerializerContext
{
    /// <summary>Serializes messages in the GenAI conventions' shape:
    /// <c>[{"role":"user","parts":[{"type":"text","content":"..."}]}]</c>.</summary>
    public static string SerializeMessages(GenAiMessage[] messages) => JsonSerializer.Serialize(messages, Default.GenAiMessageArray);
}

/// <summary>One message of <c>gen_ai.input.messages</c> or <c>gen_ai.output.messages</c>.</summary>
internal sealed record GenAiMessage(string Role, GenAiMessagePart[] Parts)
{
    /// <summary>A message of one text part.</summary>
    public static GenAiMessage Text(string role, string? content) => new(role, [new GenAiMessagePart("text", content)]);
}

/// <summary>One part of a <see cref="GenAiMessage"/>.</summary>
internal sealed record GenAiMessagePart(string Type, string? Content);
