using System.ClientModel;
using System.ClientModel.Primitives;
using Azure.AI.OpenAI;
using Azure.Identity;
using ChatService.Configuration;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using Polly;
using Polly.Registry;

namespace ChatService.Llm;

/// <summary>Builds the configured provider's <see cref="IChatClient"/>, instrumented with <c>UseLlmApm()</c>.</summary>
internal static class LlmChatClientFactory
{
    /// <summary>Registers the instrumented chat client as a singleton <see cref="IChatClient"/>: the resilience pipeline
    /// (total timeout, retries) outside <c>UseLlmApm()</c>, so that every attempt is its own <c>llm_api_call</c> step.</summary>
    public static IServiceCollection AddLlmChatClient(this IServiceCollection services)
    {
        services.AddSingleton<TokenCounter>();
        services.AddResiliencePipeline(ResilientChatClient.PipelineKey, (builder, context) => ResilientChatClient.Configure(builder, context.ServiceProvider));
        services.AddSingleton(sp => CreateProviderClient(sp)
            .AsBuilder()
            .Use((inner, services) => new ResilientChatClient(
                inner, services.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline(ResilientChatClient.PipelineKey)))
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
