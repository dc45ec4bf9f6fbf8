using System.Net.Http.Json;
using System.Text.Json;

namespace ChatService.Tests.Infrastructure;

/// <summary>Reads a chat answer, plain or streamed, as the dashboard's chat page does.</summary>
internal static class ChatReplies
{
    /// <summary>Reads the reply text and the final JSON (the body, or the stream's <c>done</c> event).</summary>
    public static async Task<(string Text, JsonElement Done)> ReadAsync(HttpResponseMessage response, bool stream)
    {
        if (!stream)
        {
            var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
            return (reply.GetProperty("reply").GetString()!, reply);
        }

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = ServerSentEvents.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(events.Count >= 2, "deltas and a done event");
        Assert.All(events[..^1], e => Assert.Equal("delta", e.Event));
        Assert.Equal("done", events[^1].Event);
        Assert.False(events[^1].Data.TryGetProperty("reply", out _));
        return (string.Concat(events[..^1].Select(e => e.Data.GetProperty("text").GetString())), events[^1].Data);
    }
}
