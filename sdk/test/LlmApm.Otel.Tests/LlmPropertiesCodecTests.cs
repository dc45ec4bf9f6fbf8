using System.Text.Json;
using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests;

public sealed class LlmPropertiesCodecTests
{
    [Fact]
    public void Read_WhatWriteWrote_EveryPropertyBack()
    {
        var properties = new Dictionary<string, string> { ["feature"] = "chat", ["ab.test-1"] = "\"quoted\" é", ["empty"] = string.Empty };

        var text = LlmPropertiesCodec.Write(properties);

        Assert.Equal(properties, LlmPropertiesCodec.Read(text));
        Assert.Null(LlmPropertiesCodec.Write(new Dictionary<string, string>()));
        Assert.Empty(LlmPropertiesCodec.Read(null));
        Assert.Equal(new Dictionary<string, string> { ["n"] = "12" }, LlmPropertiesCodec.Read("""{"n":12}"""));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""["feature","chat"]""")]
    [InlineData("42")]
    public void Read_NotAnObject_ThrowsJsonExceptionOnly(string text)
    {
        Assert.ThrowsAny<JsonException>(() => LlmPropertiesCodec.Read(text));
    }
}
