using System.Text.Json.Serialization;

namespace LlmApm.Otel;

/// <summary>The JSON the core reads, source-generated so that it needs no reflection (trimming, native AOT): the shipped
/// price file. The captured GenAI content is written by <see cref="GenAiContentJson"/>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LlmPriceFile))]
internal sealed partial class LlmApmJsonContext : JsonSerializerContext
{
}
