using System.Text.Json;
using System.Text.Json.Serialization;
using LlmApm.Otel.History;

namespace LlmApm.Otel.Sqlite;

/// <summary>The JSON of a history row (the record as the history API writes it, Web defaults), source-generated so
/// that it needs no reflection (trimming, native AOT).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LlmRequestRecord))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;
