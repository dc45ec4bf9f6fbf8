using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;

namespace LlmApm.Otel;

/// <summary>Estimates token counts with the o200k tokenizer when a provider reports no usage.</summary>
internal static class TokenEstimator
{
    // Creating the tokenizer reads its vocabulary (about 0.3 s): once, and only when an estimate is needed.
    private static readonly Lazy<TiktokenTokenizer?> Tokenizer = new(CreateTokenizer);

    // Per-message overhead of the chat format (role and separators), as the providers count it.
    private const int TokensPerMessage = 3;

    public static long Count(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        return Tokenizer.Value is { } tokenizer ? tokenizer.CountTokens(text) : (text.Length + 3) / 4;
    }

    public static long Count(IEnumerable<ChatMessage> messages)
    {
        long total = 3; // The reply is primed with the assistant's role.
        foreach (var message in messages)
        {
            total += TokensPerMessage + Count(message.Text);
        }

        return total;
    }

    private static TiktokenTokenizer? CreateTokenizer()
    {
        try
        {
            return TiktokenTokenizer.CreateForModel("gpt-4o");
        }
        catch (Exception ex)
        {
            // Without the vocabulary, fall back to the four-characters-a-token rule of thumb.
            LlmApmEventSource.Log.CallbackFailed("TokenizerCreate", ex);
            return null;
        }
    }
}
