using ChatService.Configuration;
using Microsoft.Extensions.Options;

namespace ChatService.Conversations;

/// <summary>
/// Conversations in memory, bounded: at most <see cref="ChatServiceOptions.MaxConversations"/>, the least recently
/// used evicted first. Conversation ids are 32 hexadecimal digits (a GUID without dashes).
/// </summary>
internal sealed class ConversationStore(IOptions<ChatServiceOptions> options)
{
    private readonly int capacity = options.Value.MaxConversations;
    private readonly Dictionary<string, LinkedListNode<Conversation>> byId = new(StringComparer.Ordinal);
    private readonly LinkedList<Conversation> recency = new();
    private readonly Lock gate = new();

    public int Count
    {
        get
        {
            lock (this.gate)
            {
                return this.byId.Count;
            }
        }
    }

    /// <summary>Normalizes a client's conversation id: 32 hex digits or a GUID in any standard form.</summary>
    public static bool TryNormalizeId(string value, out string id)
    {
        if (Guid.TryParse(value, out var guid))
        {
            id = guid.ToString("N");
            return true;
        }

        id = string.Empty;
        return false;
    }

    /// <summary>Returns the conversation with <paramref name="id"/>, or a new one (with a new id) when it is unknown.</summary>
    public Conversation GetOrCreate(string? id)
    {
        lock (this.gate)
        {
            if (id is not null && this.byId.TryGetValue(id, out var node))
            {
                this.recency.Remove(node);
                this.recency.AddFirst(node);
                return node.Value;
            }

            var conversation = new Conversation(Guid.NewGuid().ToString("N"));
            this.byId[conversation.Id] = this.recency.AddFirst(conversation);
            while (this.byId.Count > this.capacity && this.recency.Last is { } oldest)
            {
                this.recency.RemoveLast();
                this.byId.Remove(oldest.Value.Id);
            }

            return conversation;
        }
    }

    public bool Contains(string id)
    {
        lock (this.gate)
        {
            return this.byId.ContainsKey(id);
        }
    }
}
