using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel;

/// <summary>
/// The captured content in the GenAI conventions' JSON shapes: <c>gen_ai.input.messages</c> and
/// <c>gen_ai.output.messages</c> (messages of parts: <c>text</c>, <c>tool_call</c>, <c>tool_call_response</c>),
/// <c>gen_ai.system_instructions</c> (parts) and <c>gen_ai.tool.definitions</c>. Written with a JSON writer, not
/// reflection, so that it stays trimming-safe; every text passes through the redactor.
/// </summary>
internal static class GenAiContentJson
{
    public static string Messages(IEnumerable<ChatMessage> messages, Func<string, string> redact, string? finishReason = null)
        => Write(json =>
        {
            json.WriteStartArray();
            foreach (var message in messages)
            {
                json.WriteStartObject();
                json.WriteString("role", message.Role.Value);
                json.WritePropertyName("parts");
                json.WriteStartArray();
                foreach (var content in message.Contents)
                {
                    WritePart(json, content, redact);
                }

                json.WriteEndArray();
                if (finishReason is not null)
                {
                    json.WriteString("finish_reason", finishReason);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        });

    /// <summary>The system instructions: <see cref="ChatOptions.Instructions"/> and the text of system messages, as parts;
    /// <c>null</c> when there are none.</summary>
    public static string? SystemInstructions(IEnumerable<ChatMessage> messages, string? instructions, Func<string, string> redact)
    {
        var texts = new List<string>();
        if (!string.IsNullOrEmpty(instructions))
        {
            texts.Add(instructions);
        }

        texts.AddRange(messages.Where(m => m.Role == ChatRole.System && m.Text.Length > 0).Select(m => m.Text));
        return texts.Count == 0 ? null : Write(json =>
        {
            json.WriteStartArray();
            foreach (var text in texts)
            {
                json.WriteStartObject();
                json.WriteString("type", "text");
                json.WriteString("content", redact(text));
                json.WriteEndObject();
            }

            json.WriteEndArray();
        });
    }

    /// <summary>The tools offered to the model: <c>[{"type":"function","name":...,"description":...,"parameters":{schema}}]</c>;
    /// <c>null</c> when there are none.</summary>
    public static string? ToolDefinitions(IList<AITool>? tools)
        => tools is not { Count: > 0 } ? null : Write(json =>
        {
            json.WriteStartArray();
            foreach (var tool in tools)
            {
                json.WriteStartObject();
                json.WriteString("type", tool is AIFunctionDeclaration ? "function" : tool.GetType().Name);
                json.WriteString("name", tool.Name);
                if (!string.IsNullOrEmpty(tool.Description))
                {
                    json.WriteString("description", tool.Description);
                }

                if (tool is AIFunctionDeclaration function)
                {
                    json.WritePropertyName("parameters");
                    function.JsonSchema.WriteTo(json);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        });

    private static void WritePart(Utf8JsonWriter json, AIContent content, Func<string, string> redact)
    {
        switch (content)
        {
            case TextContent text:
                json.WriteStartObject();
                json.WriteString("type", "text");
                json.WriteString("content", redact(text.Text));
                json.WriteEndObject();
                break;
            case FunctionCallContent call:
                json.WriteStartObject();
                json.WriteString("type", "tool_call");
                json.WriteString("id", call.CallId);
                json.WriteString("name", call.Name);
                json.WritePropertyName("arguments");
                WriteRedactedJson(json, call.Arguments, redact);
                json.WriteEndObject();
                break;
            case FunctionResultContent result:
                json.WriteStartObject();
                json.WriteString("type", "tool_call_response");
                json.WriteString("id", result.CallId);
                json.WritePropertyName("response");
                WriteRedactedJson(json, result.Result, redact);
                json.WriteEndObject();
                break;
        }
    }

    /// <summary>A value as JSON, redacted: the redacted JSON when it is still JSON, else the redacted text as a string.</summary>
    private static void WriteRedactedJson(Utf8JsonWriter json, object? value, Func<string, string> redact)
    {
        if (value is null)
        {
            json.WriteNullValue();
            return;
        }

        string text;
        try
        {
            text = value is string s ? JsonSerializer.Serialize(s, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(string)))
                : value is JsonElement element ? element.GetRawText()
                : JsonSerializer.Serialize(value, AIJsonUtilities.DefaultOptions.GetTypeInfo(value.GetType()));
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or JsonException)
        {
            json.WriteStringValue(redact(value.ToString() ?? string.Empty));
            return;
        }

        var redacted = redact(text);
        try
        {
            using var document = JsonDocument.Parse(redacted);
            document.RootElement.WriteTo(json);
        }
        catch (JsonException)
        {
            json.WriteStringValue(redacted);
        }
    }

    private static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            write(json);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
