using Microsoft.Extensions.Options;

namespace ChatService.Configuration;

/// <summary>Checks the <c>Llm</c> section at start-up, with messages that say which setting to fix.</summary>
internal sealed class LlmOptionsValidator : IValidateOptions<LlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Model))
        {
            failures.Add("Llm:Model is required.");
        }

        switch (options.Provider)
        {
            case LlmProvider.AzureOpenAI:
                if (!IsHttpUri(options.Endpoint))
                {
                    failures.Add("Llm:Provider is AzureOpenAI but Llm:Endpoint is missing or not an absolute http(s) URL "
                        + "(e.g. https://my-resource.openai.azure.com/).");
                }

                // Without Llm:ApiKey the client signs in with Microsoft Entra ID (DefaultAzureCredential).

                break;
            case LlmProvider.OpenAI:
                if (!string.IsNullOrWhiteSpace(options.Endpoint) && !IsHttpUri(options.Endpoint))
                {
                    failures.Add("Llm:Endpoint is not an absolute http(s) URL (e.g. http://127.0.0.1:11434/v1 for Ollama).");
                }

                if (string.IsNullOrWhiteSpace(options.Endpoint) && string.IsNullOrWhiteSpace(options.ApiKey))
                {
                    failures.Add("Llm:Provider is OpenAI without Llm:Endpoint (api.openai.com) but Llm:ApiKey is not set "
                        + "(set it through the environment: Llm__ApiKey).");
                }

                break;
            case LlmProvider.Simulated:
                break;
            default:
                failures.Add($"Llm:Provider '{options.Provider}' is not one of Simulated, AzureOpenAI, OpenAI.");
                break;
        }

        if (options.MaxOutputTokens is < 1 or > 128_000)
        {
            failures.Add("Llm:MaxOutputTokens must be between 1 and 128000.");
        }

        if (options.Temperature is < 0 or > 2 || float.IsNaN(options.Temperature))
        {
            failures.Add("Llm:Temperature must be between 0 and 2.");
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromMinutes(10))
        {
            failures.Add("Llm:Timeout must be more than 0 and at most 00:10:00.");
        }

        if (options.MaxRetries is < 0 or > 10)
        {
            failures.Add("Llm:MaxRetries must be between 0 and 10.");
        }

        if (options.TotalTimeout < options.Timeout || options.TotalTimeout > TimeSpan.FromMinutes(30))
        {
            failures.Add("Llm:TotalTimeout must be at least Llm:Timeout and at most 00:30:00.");
        }

        if (options.RetryBaseDelay < TimeSpan.Zero || options.RetryBaseDelay > TimeSpan.FromMinutes(1))
        {
            failures.Add("Llm:RetryBaseDelay must be between 0 and 00:01:00.");
        }

        if (options.ContextWindowTokens < options.MaxOutputTokens + 64)
        {
            failures.Add("Llm:ContextWindowTokens must leave room for the prompt: at least Llm:MaxOutputTokens + 64.");
        }

        ValidateSimulated(options.Simulated, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateSimulated(SimulatedLlmOptions simulated, List<string> failures)
    {
        if (simulated.TimeToFirstTokenMs is < 0 or > 600_000)
        {
            failures.Add("Llm:Simulated:TimeToFirstTokenMs must be between 0 and 600000.");
        }

        if (simulated.PerTokenMs is < 0 or > 60_000)
        {
            failures.Add("Llm:Simulated:PerTokenMs must be between 0 and 60000.");
        }

        double total = 0;
        foreach (var (type, rate) in simulated.Faults)
        {
            if (!SimulatedLlmOptions.FaultTypes.Contains(type, StringComparer.OrdinalIgnoreCase))
            {
                failures.Add($"Llm:Simulated:Faults:{type} is not a known fault type ({string.Join(", ", SimulatedLlmOptions.FaultTypes)}).");
            }

            if (rate is < 0 or > 1 || double.IsNaN(rate))
            {
                failures.Add($"Llm:Simulated:Faults:{type} must be a rate between 0 and 1.");
            }

            total += rate;
        }

        if (total > 1)
        {
            failures.Add("The rates of Llm:Simulated:Faults add up to more than 1.");
        }
    }

    private static bool IsHttpUri(string? value)
        => Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
