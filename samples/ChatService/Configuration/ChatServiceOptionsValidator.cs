using Microsoft.Extensions.Options;

namespace ChatService.Configuration;

/// <summary>Checks the <c>ChatService</c> section at start-up.</summary>
internal sealed class ChatServiceOptionsValidator : IValidateOptions<ChatServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, ChatServiceOptions options)
    {
        var failures = new List<string>();
        if (options.DemoRequestsPerSecond is < 0.1 or > 5 || double.IsNaN(options.DemoRequestsPerSecond))
        {
            failures.Add("ChatService:DemoRequestsPerSecond must be between 0.1 and 5.");
        }

        if (options.MaxRequestBodyBytes is < 1024 or > 16 * 1024 * 1024)
        {
            failures.Add("ChatService:MaxRequestBodyBytes must be between 1024 and 16777216.");
        }

        if (options.MaxMessageLength < 1)
        {
            failures.Add("ChatService:MaxMessageLength must be at least 1.");
        }

        if (options.MaxConversations < 1)
        {
            failures.Add("ChatService:MaxConversations must be at least 1.");
        }

        if (!string.Equals(options.HistoryStore, "sqlite", StringComparison.OrdinalIgnoreCase)
            && !string.Equals(options.HistoryStore, "postgresql", StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"ChatService:HistoryStore must be sqlite or postgresql, not '{options.HistoryStore}'.");
        }

        if (options.DurableHistory && string.IsNullOrWhiteSpace(options.DataPath))
        {
            failures.Add("ChatService:DataPath must name a folder (or set ChatService:DurableHistory=false).");
        }

        if (options.RateLimit.PermitLimit < 1 || options.RateLimit.Window <= TimeSpan.Zero)
        {
            failures.Add("ChatService:RateLimit:PermitLimit must be at least 1 and ChatService:RateLimit:Window more than 0.");
        }

        if (options.Retrieval.TopK is < 1 or > 10)
        {
            failures.Add("ChatService:Retrieval:TopK must be between 1 and 10.");
        }

        if (options.Retrieval.MinScore is < 0 or > 1 || float.IsNaN(options.Retrieval.MinScore))
        {
            failures.Add("ChatService:Retrieval:MinScore must be between 0 and 1.");
        }

        if (options.Retrieval.EmbeddingLatency < TimeSpan.Zero || options.Retrieval.EmbeddingLatency > TimeSpan.FromSeconds(10))
        {
            failures.Add("ChatService:Retrieval:EmbeddingLatency must be between 0 and 10 seconds.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
