using ChatService.Llm;
using Microsoft.ML.Tokenizers;

namespace ChatService.Tests;

/// <summary>The token counts that fit a message to the context window: exact for ordinary text, close for long runs
/// without a space, which are counted in bounded pieces.</summary>
public sealed class TokenCounterTests
{
    private static readonly Tokenizer O200k = TiktokenTokenizer.CreateForModel("gpt-4o");

    [Theory]
    [InlineData("Hello, world! How are you today?")]
    [InlineData("Conversations grow, so the prompt has to be fitted to the context window.\nLine two\ttabbed.")]
    [InlineData("Ünïcödé wörds and emoji 😀 between spaces, CJK 你好 世界.")]
    public void Count_OrdinaryText_EqualsTheTokenizer(string sentence)
    {
        var text = string.Concat(Enumerable.Repeat(sentence + " ", 50));

        Assert.Equal(O200k.CountTokens(text), new TokenCounter().Count(text));
    }

    [Theory]
    [InlineData("\U0001F600", 500)]
    [InlineData("\U0001F680\U0001F4A9\U0001F9E0", 300)]
    [InlineData("你好世界", 500)]
    [InlineData("a\u0301", 1000)]
    [InlineData("abc", 1000)]
    [InlineData(" ", 2000)]
    public void Count_LongRunWithoutSpace_CloseToTheTokenizer(string unit, int repeat)
    {
        var text = "x " + string.Concat(Enumerable.Repeat(unit, repeat)) + " y";
        var exact = O200k.CountTokens(text);
        var pieces = (text.Length / TokenCounter.MaxPieceLength) + 1;

        var count = new TokenCounter().Count(text);

        // Each cut can change the merges at most around it.
        Assert.InRange(count, exact - pieces, exact + (2 * pieces));
    }

    [Fact]
    public void Count_SurrogatePairsAtEveryCut_NeverSplit()
    {
        // An odd prefix moves every cut onto a low surrogate: counting must not see half a pair (it would count the
        // replacement character and differ from the exact count of identical emoji, one token each).
        var text = "a" + string.Concat(Enumerable.Repeat("\U0001F600", 1000));

        Assert.Equal(O200k.CountTokens(text), new TokenCounter().Count(text));
    }

    [Fact]
    public void Count_StopAbove_StopsPastTheLimitExactBelowIt()
    {
        var counter = new TokenCounter();
        var text = string.Concat(Enumerable.Repeat("你好世界", 2_000));
        var exact = counter.Count(text);

        Assert.Equal(exact, counter.Count(text, stopAbove: exact));
        Assert.InRange(counter.Count(text, stopAbove: 100), 101, exact - 1);
    }

    [Theory]
    [InlineData("Hello there, how are you doing today? ", 40, 25)]
    [InlineData("\U0001F600", 1000, 300)]
    [InlineData("你好世界", 500, 123)]
    public void Truncate_AnyText_AtMostMaxTokensAndAPrefix(string unit, int repeat, int maxTokens)
    {
        var counter = new TokenCounter();
        var text = string.Concat(Enumerable.Repeat(unit, repeat));

        var cut = counter.Truncate(text, maxTokens);

        Assert.StartsWith(cut, text, StringComparison.Ordinal);
        Assert.InRange(counter.Count(cut), maxTokens - 2, maxTokens);
        Assert.Equal(text, counter.Truncate(text, counter.Count(text)));
    }
}
