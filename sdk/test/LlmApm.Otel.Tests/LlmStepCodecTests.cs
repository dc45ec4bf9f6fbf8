using System.Text.Json;
using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests;

public sealed class LlmStepCodecTests
{
    [Fact]
    public void Read_WhatWriteWrote_EveryFieldBack()
    {
        LlmStepRecord[] steps =
        [
            new("preprocessing", 0, 1.25, "ok", null, 0),
            new("llm_api_call", 1.25, 900.123456789, "error", "rate_limited", 1, LlmStepKinds.LlmCall, "anthropic/claude-sonnet-4@2026-11-01#>200k"),
            new("GET /search \"q\" é", 2, 3, "ok", null, 2, "http"),
        ];

        var text = LlmStepCodec.Write(steps, droppedSteps: 7);

        Assert.Equal(steps, LlmStepCodec.Read(text, out var dropped));
        Assert.Equal(7, dropped);
    }

    [Fact]
    public void Write_NoPriceNoDroppedSteps_StaysCompact()
    {
        var text = LlmStepCodec.Write([new LlmStepRecord("tool", 1, 2, "ok", null, 0, LlmStepKinds.Tool)]);

        Assert.Equal("""[["tool",1,2,"ok",null,0,"tool"]]""", text);
        Assert.Equal("[]", LlmStepCodec.Write([]));
    }

    [Theory]
    [InlineData("""[["llm_api_call",1,10,"error","timeout",0]]""", LlmStepKinds.Step, null, 0)]
    [InlineData("""[["llm_api_call",1,10,"error","timeout",0,"llm_call"],4]""", LlmStepKinds.LlmCall, null, 4)]
    [InlineData("""[["llm_api_call",1,10,"error","timeout",0,null,"openai/gpt-4o@2026-11-01"]]""", LlmStepKinds.Step, "openai/gpt-4o@2026-11-01", 0)]
    public void Read_EarlierShapes_ReadWithDefaults(string text, string kind, string? price, int droppedSteps)
    {
        var step = Assert.Single(LlmStepCodec.Read(text, out var dropped));

        Assert.Equal(new LlmStepRecord("llm_api_call", 1, 10, "error", "timeout", 0, kind, price), step);
        Assert.Equal(droppedSteps, dropped);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"name":"x"}""")]
    [InlineData("""[{"name":"x"}]""")]
    [InlineData("""[["llm_api_call",1]]""")]
    [InlineData("""[["llm_api_call","one",10,"ok",null,0]]""")]
    [InlineData("""[[null,1,10,"ok",null,0]]""")]
    [InlineData("""[["llm_api_call",1,10,"ok",null,99999999999]]""")]
    [InlineData("""[["llm_api_call",1,10,"ok",null,0],"three"]""")]
    public void Read_NotSteps_ThrowsJsonExceptionOnly(string text)
    {
        // A store catches this one exception for a damaged row; the message names the shape, never the text.
        var exception = Assert.ThrowsAny<JsonException>(() => LlmStepCodec.Read(text, out _));
        Assert.DoesNotContain("llm_api_call", exception.Message, StringComparison.Ordinal);
    }
}
