using System.ClientModel;
using System.ClientModel.Primitives;
using Azure.AI.OpenAI;
using Azure.Identity;
using ChatService.Configuration;
using ChatService.Retrieval;
using ChatService.Tools;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using Polly;
using Polly.Registry;

namespace ChatService.Llm;

/// <summary>Builds the configured provider's <see cref="IChatClient"/>, instrumented with <c>UseLlmApm()</c>, with
/// function invocation of the <see cref="ChatTools"/>; and the embedding generator of the retrieval step.</summary>
internal static class LlmChatClientFactory
{
    /// <summary>Registers the instrumented chat client as a singleton <see cref="IChatClient"/>: the resilience pipeline
    /// (total timeout, retries) outside <c>UseLlmApm()</c>, so that every attempt is its own <c>llm_api_call</c> step.</summary>
    public static IServiceCollection AddLlmChatClient(this IServiceCollection services)
    {
        services.AddSingleton<TokenCounter>();
        services.AddHttpClient<OrdersClient>(http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<ChatTools>();
        services.AddResiliencePipeline(ResilientChatClient.PipelineKey, (builder, context) => ResilientChatClient.Configure(builder, context.ServiceProvider));
        services.AddSingleton(sp => CreateProviderClient(sp)
            .AsBuilder()
            // Outermost: each model call of the tool loop goes through the retries and UseLlmApm() (its own llm_api_call
            // step), and the loop finds LLM-APM's ActivitySource below it, so each tool is an execute_tool step beside them.
            // No logger: the function invocation logs a tool's arguments, result and failure, which come from the user's
            // message; the tool's span and step say what ran, how long and how it failed.
            .UseFunctionInvocation(NullLoggerFactory.Instance, f =>
            {
                f.MaximumIterationsPerRequest = 3; // a model that keeps calling tools is cut short: bounded work per chat
                f.IncludeDetailedErrors = true; // the tools' own messages tell the model what was wrong with its arguments
            })
            .Use((inner, services) => new ResilientChatClient(
                inner, services.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline(ResilientChatClient.PipelineKey)))
            .UseLlmApm()
            .Build(sp));

        // Retrieval's embeddings: the simulated model whatever the chat's provider (see ChatService:Retrieval).
        services.AddSingleton<DocumentIndex>();
        services.AddSingleton<ChatRetriever>();
        services.AddSingleton(sp => new SimulatedEmbeddingGenerator(
                sp.GetRequiredService<TokenCounter>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<IOptions<ChatServiceOptions>>().Value.Retrieval.EmbeddingLatency)
            .AsBuilder()
            .UseLlmApm()
            .Build(sp));
        return services;
    }

    private static IChatClient CreateProviderClient(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<LlmOptions>>().Value;
        // The clients' own retries are off: the resilience pipeline retries, one visible attempt at a time.
        var retry = new ClientRetryPolicy(0);
        switch (options.Provider)
        {
            case LlmProvider.AzureOpenAI:
                {
                    var clientOptions = new AzureOpenAIClientOptions { NetworkTimeout = options.Timeout, RetryPolicy = retry };
                    var endpoint = new Uri(options.Endpoint!);

                    // A key when one is configured; otherwise Microsoft Entra ID (managed identity, workload identity,
                    // Azure CLI ...) through DefaultAzureCredential.
                    var client = string.IsNullOrWhiteSpace(options.ApiKey)
                        ? new AzureOpenAIClient(endpoint, new DefaultAzureCredential(), clientOptions)
                        : new AzureOpenAIClient(endpoint, new ApiKeyCredential(options.ApiKey), clientOptions);
                    return client.GetChatClient(options.EffectiveDeployment).AsIChatClient();
                }

            case LlmProvider.OpenAI:
                {
                    var clientOptions = new OpenAIClientOptions { NetworkTimeout = options.Timeout, RetryPolicy = retry };
                    if (!string.IsNullOrWhiteSpace(options.Endpoint))
                    {
                        clientOptions.Endpoint = new Uri(options.Endpoint);
                    }

                    // Local OpenAI-compatible servers (Ollama, vLLM) take no key, but the client needs one.
                    var key = string.IsNullOrWhiteSpace(options.ApiKey) ? "no-key" : options.ApiKey;
                    return new ChatClient(options.Model, new ApiKeyCredential(key), clientOptions).AsIChatClient();
                }

            default:
                return ActivatorUtilities.CreateInstance<SimulatedChatClient>(services);
        }
    }
}
