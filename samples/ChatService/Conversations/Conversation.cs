using Microsoft.Extensions.AI;

namespace ChatService.Conversations;

/// <summary>One conversation: its id and its messages, oldest first, each with its token count.</summary>
internal sealed class Conversation(string id)
{
    private readonly List<ConversationMessage> messages = [];
    private readonly Lock gate = new();

    public string Id { get; } = id;

    /// <summary>Gets a copy of the messages, oldest first.</summary>
    public IReadOnlyList<ConversationMessage> Snapshot()
    {
        lock (this.gate)
        {
            return [.. this.messages];
        }
    }

    /// <summary>Adds an exchange and drops the oldest messages beyond <paramref name="maxTokens"/>.</summary>
    public void Append(ConversationMessage user, ConversationMessage assistant, int maxTokens)
    {
        lock (this.gate)
        {
            this.messages.Add(user);
            this.messages.Add(assistant);
            var total = this.messages.Sum(m => m.Tokens);
            var drop = 0;
            while (total > maxTokens && drop < this.messages.Count - 2)
            {
                total -= this.messages[drop].Tokens;
                drop++;
            }

            this.messages.RemoveRange(0, drop);
        }
    }
}

/// <summary>A stored message and its token count (framing included).</summary>
internal sealed record ConversationMessage(ChatRole Role, string Text, int Tokens);
