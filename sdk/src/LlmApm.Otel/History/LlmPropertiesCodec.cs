using System.Text.Json;

namespace LlmApm.Otel.History;

/// <summary>For history stores: a record's custom properties as a JSON object of strings, as the SQLite (text) and
/// PostgreSQL (jsonb) stores keep them, or <c>null</c> when there are none, so that a request without properties costs
/// no bytes.</summary>
public static class LlmPropertiesCodec
{
    /// <summary>Encodes <paramref name="properties"/>, or <c>null</c> when empty.</summary>
    /// <param name="properties">The properties (<see cref="LlmRequestRecord.Properties"/>).</param>
    /// <returns>The JSON text, or <c>null</c>.</returns>
    public static string? Write(IReadOnlyDictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        if (properties.Count == 0)
        {
            return null;
        }

        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            foreach (var (key, value) in properties)
            {
                json.WriteString(key, value);
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    /// <summary>Decodes what <see cref="Write"/> wrote; <c>null</c> reads as no properties. A value that is not a
    /// string (written by hand) is kept as its JSON text.</summary>
    /// <param name="text">The JSON text, or <c>null</c>.</param>
    /// <returns>The properties; empty for <c>null</c>.</returns>
    /// <exception cref="JsonException">The text is not a JSON object. The only exception a store needs to catch for a
    /// damaged row; its message never holds the text.</exception>
    public static IReadOnlyDictionary<string, string> Read(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return LlmAttribution.NoProperties;
        }

        try
        {
            return ReadObject(text);
        }
        catch (Exception ex) when (LlmStepCodec.IsWrongShape(ex))
        {
            throw new JsonException("The text is not an LLM-APM properties object: " + ex.GetType().Name + ".", ex);
        }
    }

    private static IReadOnlyDictionary<string, string> ReadObject(string text)
    {
        using var document = JsonDocument.Parse(text);
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            properties[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
        }

        return properties.Count == 0 ? LlmAttribution.NoProperties : properties;
    }
}
