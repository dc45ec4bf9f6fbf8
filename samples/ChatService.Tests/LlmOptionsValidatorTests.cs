using ChatService.Configuration;

namespace ChatService.Tests;

public sealed class LlmOptionsValidatorTests
{
    [Fact]
    public void Validate_Defaults_Succeeds()
    {
        Assert.True(new LlmOptionsValidator().Validate(null, new LlmOptions()).Succeeded);
    }

    [Fact]
    public void Validate_AzureOpenAIWithoutEndpoint_NamesTheSetting()
    {
        var result = new LlmOptionsValidator().Validate(null, new LlmOptions { Provider = LlmProvider.AzureOpenAI, ApiKey = "k" });

        Assert.True(result.Failed);
        Assert.Contains("Llm:Endpoint", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_AzureOpenAIWithoutKey_SucceedsForEntraId()
    {
        var options = new LlmOptions { Provider = LlmProvider.AzureOpenAI, Endpoint = "https://example.openai.azure.com/" };

        Assert.True(new LlmOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Validate_OpenAIWithoutEndpointOrKey_NamesTheKey()
    {
        var result = new LlmOptionsValidator().Validate(null, new LlmOptions { Provider = LlmProvider.OpenAI });

        Assert.True(result.Failed);
        Assert.Contains("Llm:ApiKey", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_OpenAICompatibleEndpointWithoutKey_Succeeds()
    {
        var options = new LlmOptions { Provider = LlmProvider.OpenAI, Endpoint = "http://127.0.0.1:11434/v1", Model = "llama3.2" };

        Assert.True(new LlmOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Validate_BadFaultsAndLimits_Fails()
    {
        var options = new LlmOptions { MaxOutputTokens = 0, Temperature = 3, Timeout = TimeSpan.Zero };
        options.Simulated.Faults["no_such_fault"] = 0.5;
        options.Simulated.Faults["rate_limited"] = 0.9;

        var result = new LlmOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("no_such_fault", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("add up to more than 1", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Llm:MaxOutputTokens", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Llm:Temperature", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Llm:Timeout", result.FailureMessage, StringComparison.Ordinal);
    }
}
