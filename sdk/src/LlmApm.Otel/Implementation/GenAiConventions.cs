namespace LlmApm.Otel;

/// <summary>
/// The names of the OpenTelemetry GenAI semantic conventions that LLM-APM emits: one place, so that a rename in the
/// conventions is one edit. LLM-APM's own names are in <see cref="LlmApmTelemetry"/>.
/// </summary>
internal static class GenAiConventions
{
    /// <summary>The value of <see cref="OperationName"/> for a chat completion.</summary>
    public const string ChatOperation = "chat";

    /// <summary>The value of <see cref="OperationName"/> for a tool invocation.</summary>
    public const string ExecuteToolOperation = "execute_tool";

    /// <summary>The value of <see cref="OperationName"/> for an embedding call.</summary>
    public const string EmbeddingsOperation = "embeddings";

    /// <summary>The span Microsoft.Extensions.AI's function invocation makes around each call's loop (not a convention).</summary>
    public const string OrchestrateToolsSpan = "orchestrate_tools";

    public const string ToolName = "gen_ai.tool.name";
    public const string ToolType = "gen_ai.tool.type";
    public const string ToolTypeFunction = "function";
    public const string ToolDescription = "gen_ai.tool.description";
    public const string ToolCallId = "gen_ai.tool.call.id";
    public const string ToolCallArguments = "gen_ai.tool.call.arguments";
    public const string ToolCallResult = "gen_ai.tool.call.result";

    public const string EmbeddingsDimensionCount = "gen_ai.embeddings.dimension.count";
    public const string RequestEncodingFormats = "gen_ai.request.encoding_formats";

    public const string OperationName = "gen_ai.operation.name";
    public const string ProviderName = "gen_ai.provider.name";
    public const string ConversationId = "gen_ai.conversation.id";

    public const string RequestModel = "gen_ai.request.model";
    public const string RequestMaxTokens = "gen_ai.request.max_tokens";
    public const string RequestTemperature = "gen_ai.request.temperature";
    public const string RequestTopP = "gen_ai.request.top_p";
    public const string RequestTopK = "gen_ai.request.top_k";
    public const string RequestFrequencyPenalty = "gen_ai.request.frequency_penalty";
    public const string RequestPresencePenalty = "gen_ai.request.presence_penalty";
    public const string RequestSeed = "gen_ai.request.seed";
    public const string RequestStopSequences = "gen_ai.request.stop_sequences";
    public const string OutputType = "gen_ai.output.type";
    public const string SystemInstructions = "gen_ai.system_instructions";
    public const string ToolDefinitions = "gen_ai.tool.definitions";

    public const string ResponseModel = "gen_ai.response.model";
    public const string ResponseId = "gen_ai.response.id";
    public const string ResponseFinishReasons = "gen_ai.response.finish_reasons";
    public const string ResponseTimeToFirstChunk = "gen_ai.response.time_to_first_chunk";

    public const string UsageInputTokens = "gen_ai.usage.input_tokens";
    public const string UsageOutputTokens = "gen_ai.usage.output_tokens";
    public const string UsageCacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens";
    public const string UsageCacheCreationInputTokens = "gen_ai.usage.cache_creation.input_tokens";
    public const string UsageReasoningOutputTokens = "gen_ai.usage.reasoning.output_tokens";

    public const string InputMessages = "gen_ai.input.messages";
    public const string OutputMessages = "gen_ai.output.messages";

    /// <summary>The token type tag of <see cref="TokenUsageMetric"/>, with values <see cref="TokenTypeInput"/> and <see cref="TokenTypeOutput"/>.</summary>
    public const string TokenType = "gen_ai.token.type";
    public const string TokenTypeInput = "input";
    public const string TokenTypeOutput = "output";

    /// <summary>The general convention's <c>error.type</c>, on GenAI metrics as on spans.</summary>
    public const string ErrorType = "error.type";

    public const string OperationDurationMetric = "gen_ai.client.operation.duration";
    public const string TokenUsageMetric = "gen_ai.client.token.usage";
    public const string TimeToFirstChunkMetric = "gen_ai.client.operation.time_to_first_chunk";
    public const string TimePerOutputChunkMetric = "gen_ai.client.operation.time_per_output_chunk";

    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";

    /// <summary>Tags <c>server.address</c> and <c>server.port</c> from a client's endpoint, when it reports one.</summary>
    public static void TagServer(System.Diagnostics.Activity activity, Uri? endpoint)
    {
        if (endpoint is { IsAbsoluteUri: true } uri && !string.IsNullOrEmpty(uri.Host))
        {
            activity.SetTag(ServerAddress, uri.Host);

            // A scheme without a known port (a simulator's simulated://) has none to report.
            if (uri.Port > 0)
            {
                activity.SetTag(ServerPort, uri.Port);
            }
        }
    }
}
