using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;

namespace ChatService.Llm;

/// <summary>
/// Counts tokens with the o200k encoding (GPT-4o family). The tokenizer costs about 0.3 s to build, so it is
/// built once, on first use.
/// </summary>
internal sealed class TokenCounter
{
    // OpenAI's accounting for chat prompts: a few tokens of framing per message and for the reply's start.
    private const int TokensPerMessage = 3;
    private const int TokensForReplyPriming = 3;

    // Shared by every instance: the tokenizer is immutable and thread-safe.
    private static readonly Lazy<Tokenizer> Shared = new(() => TiktokenTokenizer.CreateForModel("gpt-4o"), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Lazy<Tokenizer> tokenizer = Shared;

    public int Count(string? text) => string.IsNullOrEmpty(text) ? 0 : this.tokenizer.Value.CountTokens(text);

    /// <summary>Counts one message of a prompt, its framing included.</summary>
    public int CountMessage(string? text) => TokensPerMessage + this.Count(text);

    /// <summary>Counts a whole prompt as the provider bills it.</summary>
    public int CountPrompt(IEnumerable<ChatMessage> messages)
    {
        var total = TokensForReplyPriming;
        foreach (var message in messages)
        {
            total += this.CountMessage(message.Text);
        }

        return total;
    }

    /// <summary>Cuts <paramref name="text"/> to at most <paramref name="maxTokens"/> tokens.</summary>
    public string Truncate(string text, int maxTokens)
    {
        var index = this.tokenizer.Value.GetIndexByTokenCount(text, maxTokens, out _, out _);
        return text[..index];
    }
}
