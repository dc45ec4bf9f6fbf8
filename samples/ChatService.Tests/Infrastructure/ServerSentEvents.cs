using System.Text.Json;

namespace ChatService.Tests.Infrastructure;

/// <summary>Parses a <c>text/event-stream</c> body into (event, data) pairs.</summary>
internal static class ServerSentEvents
{
    public static List<(string Event, JsonElement Data)> Parse(string body)
    {
        var events = new List<(string, JsonElement)>();
        foreach (var block in body.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string name = "message";
            var data = new List<string>();
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    name = line["event:".Length..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    data.Add(line["data:".Length..].TrimStart());
                }
            }

            if (data.Count > 0)
            {
                events.Add((name, JsonDocument.Parse(string.Join('\n', data)).RootElement.Clone()));
            }
        }

        return events;
    }
}
