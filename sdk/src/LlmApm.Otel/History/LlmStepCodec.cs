using System.Buffers;
using System.Text;
using System.Text.Json;

namespace LlmApm.Otel.History;

/// <summary>
/// For history stores: a record's steps as one text (a record has a handful, read as one), as the SQLite and
/// PostgreSQL stores keep them:
/// <c>[[name, offsetMs, durationMs, status, errorType, depth, kind, price?], ..., droppedSteps?]</c>. The price is
/// written only when the step has one, the record's <see cref="LlmRequestRecord.DroppedSteps"/> only when it is not 0
/// (a number after the last step). Reads every earlier shape: six items (before kinds, the kind <c>step</c>), seven
/// (before prices), no trailing number (0 dropped).
/// </summary>
public static class LlmStepCodec
{
    /// <summary>Encodes <paramref name="steps"/>, and <paramref name="droppedSteps"/> when not 0.</summary>
    /// <param name="steps">The steps (<see cref="LlmRequestRecord.Steps"/>).</param>
    /// <param name="droppedSteps">The steps not kept (<see cref="LlmRequestRecord.DroppedSteps"/>), or 0 when the store
    /// keeps that number apart.</param>
    /// <returns>The text.</returns>
    public static string Write(IReadOnlyList<LlmStepRecord> steps, int droppedSteps = 0)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var buffer = new ArrayBufferWriter<byte>(64 + (steps.Count * 64));
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var step in steps)
            {
                json.WriteStartArray();
                json.WriteStringValue(step.Name);
                json.WriteNumberValue(step.OffsetMs);
                json.WriteNumberValue(step.DurationMs);
                json.WriteStringValue(step.Status);
                WriteStringOrNull(json, step.ErrorType);
                json.WriteNumberValue(step.Depth);
                json.WriteStringValue(step.Kind ?? LlmStepKinds.Step);
                if (step.Price is not null)
                {
                    json.WriteStringValue(step.Price);
                }

                json.WriteEndArray();
            }

            if (droppedSteps != 0)
            {
                json.WriteNumberValue(droppedSteps);
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Decodes what <see cref="Write"/> wrote, or an earlier version of it.</summary>
    /// <param name="text">The text.</param>
    /// <param name="droppedSteps">The number of steps not kept; 0 when the text has none.</param>
    /// <returns>The steps.</returns>
    /// <exception cref="JsonException">The text is not steps: not JSON, or JSON of another shape. The only exception
    /// a store needs to catch for a damaged row; its message never holds the text.</exception>
    public static IReadOnlyList<LlmStepRecord> Read(string text, out int droppedSteps)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            return ReadSteps(text, out droppedSteps);
        }
        catch (Exception ex) when (IsWrongShape(ex))
        {
            throw new JsonException("The text is not LLM-APM steps: " + ex.GetType().Name + ".", ex);
        }
    }

    /// <summary>What reading JSON of another shape throws: an element of another kind, an item missing, a number that
    /// does not fit, a null name.</summary>
    internal static bool IsWrongShape(Exception exception)
        => exception is InvalidOperationException or IndexOutOfRangeException or FormatException or ArgumentException or KeyNotFoundException;

    private static LlmStepRecord[] ReadSteps(string text, out int droppedSteps)
    {
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        droppedSteps = 0;
        var steps = new LlmStepRecord[root.GetArrayLength()];
        var i = 0;
        foreach (var step in root.EnumerateArray())
        {
            if (step.ValueKind == JsonValueKind.Number)
            {
                droppedSteps = step.GetInt32();
                continue;
            }

            var items = step.GetArrayLength();
            steps[i++] = new LlmStepRecord(
                step[0].GetString() ?? throw new FormatException("A step has no name."),
                step[1].GetDouble(),
                step[2].GetDouble(),
                step[3].GetString() ?? throw new FormatException("A step has no status."),
                step[4].GetString(),
                step[5].GetInt32(),
                items > 6 ? step[6].GetString() ?? LlmStepKinds.Step : LlmStepKinds.Step,
                items > 7 ? step[7].GetString() : null);
        }

        return i == steps.Length ? steps : steps[..i];
    }

    private static void WriteStringOrNull(Utf8JsonWriter json, string? value)
    {
        if (value is null)
        {
            json.WriteNullValue();
        }
        else
        {
            json.WriteStringValue(value);
        }
    }
}
