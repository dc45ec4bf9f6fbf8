using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;

namespace ChatService.Llm;

/// <summary>
/// Counts tokens with the o200k encoding (GPT-4o family), in time linear in the text's length. The tokenizer costs
/// about 0.3 s to build, so it is built once, on first use.
/// </summary>
internal sealed class TokenCounter
{
    // OpenAI's accounting for chat prompts: a few tokens of framing per message and for the reply's start.
    private const int TokensPerMessage = 3;
    private const int TokensForReplyPriming = 3;

    // Shared by every instance: the tokenizer is immutable and thread-safe.
    private static readonly Lazy<Tokenizer> Shared = new(() => TiktokenTokenizer.CreateForModel("gpt-4o"), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Lazy<Tokenizer> tokenizer = Shared;

    /// <summary>
    /// The longest run of characters without a change between whitespace and the rest that is tokenized as one
    /// piece. The tokenizer's byte-pair merging costs far more than linear time on one long piece (a message of
    /// emoji, CJK or combining marks without a space is a single piece: 60 KB took a second), so a longer run is
    /// counted in pieces of this length: the CPU of a count is bounded by the text's length, and ordinary text,
    /// whose words are shorter, is counted exactly.
    /// </summary>
    internal const int MaxPieceLength = 64;

    public int Count(string? text) => this.Count(text, int.MaxValue);

    /// <summary>
    /// Counts the tokens of <paramref name="text"/>, or stops as soon as the count passes <paramref name="stopAbove"/>
    /// and returns what it has counted so far (more than <paramref name="stopAbove"/>): a text that cannot fit costs
    /// no more than one that just fits.
    /// </summary>
    public int Count(string? text, int stopAbove)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        var tokenizer = this.tokenizer.Value;
        var span = text.AsSpan();
        var count = 0;
        var start = 0;
        while (start < span.Length && count <= stopAbove)
        {
            var end = NextCut(span, start);
            count += tokenizer.CountTokens(span[start..end]);
            start = end;
        }

        return count;
    }

    /// <summary>Counts one message of a prompt, its framing included.</summary>
    public int CountMessage(string? text) => TokensPerMessage + this.Count(text);

    /// <summary>Counts one message of a prompt, its framing included, stopping once past <paramref name="stopAbove"/>.</summary>
    public int CountMessage(string? text, int stopAbove) => TokensPerMessage + this.Count(text, stopAbove - TokensPerMessage);

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

    /// <summary>
    /// The end of the part of <paramref name="text"/> that starts at <paramref name="start"/>: the text's end, or a
    /// cut inside a run longer than <see cref="MaxPieceLength"/> (never between the halves of a surrogate pair).
    /// </summary>
    private static int NextCut(ReadOnlySpan<char> text, int start)
    {
        var runStart = start;
        for (var i = start + 1; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i]) != char.IsWhiteSpace(text[i - 1]))
            {
                runStart = i;
            }
            else if (i - runStart >= MaxPieceLength && !char.IsLowSurrogate(text[i]))
            {
                return i;
            }
        }

        return text.Length;
    }

    /// <summary>Cuts <paramref name="text"/> to at most <paramref name="maxTokens"/> tokens, in the same pieces as
    /// <see cref="Count(string?)"/>.</summary>
    public string Truncate(string text, int maxTokens)
    {
        var tokenizer = this.tokenizer.Value;
        var span = text.AsSpan();
        var left = maxTokens;
        var start = 0;
        while (start < span.Length)
        {
            var end = NextCut(span, start);
            var index = tokenizer.GetIndexByTokenCount(span[start..end], left, out _, out var tokens);
            if (start + index < end)
            {
                return text[..(start + index)];
            }

            left -= tokens;
            start = end;
        }

        return text;
    }
}
