using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using ChatService.Configuration;
using ChatService.Conversations;
using ChatService.Errors;
using ChatService.Llm;
using ChatService.Retrieval;
using ChatService.Tools;
using LlmApm.Otel;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace ChatService.Chat;

/// <summary>
/// One chat turn in the LLM-APM steps: <c>preprocessing</c> (read and validate, load the conversation, build the prompt
/// and fit it to the context window), <c>retrieve</c> (when on: embed the message, find documents), one
/// <c>llm_api_call</c> per model call (made by <c>UseLlmApm()</c> on the chat client) with an <c>execute_tool {name}</c>
/// step per tool the model calls between them, <c>response_parsing</c> and <c>saving</c>.
/// </summary>
internal sealed class ChatHandler(
    IChatClient chatClient,
    ConversationStore conversations,
    TokenCounter tokens,
    ChatRetriever retriever,
    ChatTools tools,
    IOptions<LlmOptions> llmOptions,
    IOptions<ChatServiceOptions> serviceOptions)
{
    /// <summary>The <see cref="HttpContext.Items"/> key of the LLM request id, for problem details.</summary>
    public const string RequestIdItem = "ChatService.LlmRequestId";

    public const string SavingStep = "saving";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly LlmOptions llm = llmOptions.Value;
    private readonly ChatServiceOptions service = serviceOptions.Value;

    public IChatClient Client => chatClient;

    /// <summary>The options of every call: from the service's configuration only, never from the client.</summary>
    public ChatOptions CreateChatOptions() => new()
    {
        ModelId = this.llm.Model,
        MaxOutputTokens = this.llm.MaxOutputTokens,
        Temperature = this.llm.Temperature,
        Tools = tools.All,
    };

    /// <summary>Reads the turn (<c>preprocessing</c>), then retrieves its documents (<c>retrieve</c>).</summary>
    public async Task<ChatTurn> PrepareAsync(HttpContext context)
    {
        var turn = await this.ReadTurnAsync(context).ConfigureAwait(false);
        return await retriever.AugmentAsync(turn, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task<ChatTurn> ReadTurnAsync(HttpContext context)
    {
        var request = LlmRequest.Current;
        if (request is not null)
        {
            context.Items[RequestIdItem] = request.Id;
        }

        using var step = LlmStep.Start(LlmApmTelemetry.Steps.Preprocessing);
        try
        {
            var body = await this.ReadBodyAsync(context).ConfigureAwait(false);
            var message = body.Message?.Trim();
            if (string.IsNullOrEmpty(message))
            {
                throw new ChatFailureException("'message' is required and must not be empty.");
            }

            if (message.Length > this.service.MaxMessageLength)
            {
                throw new ChatFailureException($"'message' is longer than {this.service.MaxMessageLength} characters.");
            }

            if (!IsPlainText(message))
            {
                throw new ChatFailureException("'message' contains control characters or invalid Unicode (only tab, line feed and carriage return are allowed).");
            }

            string? conversationId = null;
            if (!string.IsNullOrWhiteSpace(body.ConversationId)
                && !ConversationStore.TryNormalizeId(body.ConversationId.Trim(), out conversationId))
            {
                throw new ChatFailureException("'conversationId' must be 32 hexadecimal digits (or a GUID).");
            }

            var conversation = conversations.GetOrCreate(conversationId);
            if (request is not null)
            {
                request.ConversationId = conversation.Id;
            }

            return this.BuildTurn(conversation, message);
        }
        catch (Exception ex) when (step.Fail(ex, context.RequestAborted))
        {
            throw; // Never reached: Fail returns false.
        }
    }

    public async Task<ChatReply> CompleteAsync(ChatTurn turn, CancellationToken cancellationToken)
    {
        var response = await chatClient.GetResponseAsync(turn.Prompt, this.CreateChatOptions(), cancellationToken).ConfigureAwait(false);
        return this.Finish(turn, response, includeReply: true);
    }

    /// <summary>Parses the model's answer, saves the exchange and builds the reply.</summary>
    public ChatReply Finish(ChatTurn turn, ChatResponse response, bool includeReply)
    {
        string reply;
        string model;
        using (var step = LlmStep.Start(LlmApmTelemetry.Steps.ResponseParsing))
        {
            try
            {
                if (response.FinishReason == ChatFinishReason.ContentFilter)
                {
                    throw new ChatFailureException(
                        LlmErrorTypes.ContentFiltered,
                        StatusCodes.Status422UnprocessableEntity,
                        "The content was filtered",
                        "The provider's content filter blocked the reply.");
                }

                reply = response.Text.Trim();
                model = string.IsNullOrEmpty(response.ModelId) ? this.llm.Model : response.ModelId;

                // The online evaluators (if any are registered) need the exchange; it stays in memory, never stored.
                LlmRequest.Current?.SetEvaluationContent(turn.Message, reply);
            }
            catch (Exception ex) when (step.Fail(ex))
            {
                throw; // Never reached: Fail returns false.
            }
        }

        using (LlmStep.Start(SavingStep))
        {
            turn.Conversation.Append(
                new ConversationMessage(ChatRole.User, turn.Message, turn.MessageTokens),
                new ConversationMessage(ChatRole.Assistant, reply, tokens.CountMessage(reply)),
                this.HistoryBudget);
        }

        return BuildReply(turn, includeReply ? reply : null, model, response);
    }

    private int HistoryBudget => this.llm.ContextWindowTokens - this.llm.MaxOutputTokens;

    private static ChatReply BuildReply(ChatTurn turn, string? reply, string model, ChatResponse response)
    {
        var request = LlmRequest.Current;
        if (request is not null && !string.IsNullOrEmpty(request.Id))
        {
            var usage = request.Usage;
            return new ChatReply(
                turn.Conversation.Id,
                reply,
                request.Id,
                request.TraceId,
                request.Model ?? model,
                new ChatUsage(usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens, usage.ReasoningTokens, usage.Estimated),
                request.CostUsd);
        }

        // LLM-APM is switched off (LlmApm:Enabled=false): report what the provider said.
        var details = response.Usage;
        return new ChatReply(
            turn.Conversation.Id,
            reply,
            Activity.Current?.TraceId.ToHexString() ?? string.Empty,
            Activity.Current?.TraceId.ToHexString() ?? string.Empty,
            model,
            new ChatUsage(details?.InputTokenCount ?? 0, details?.OutputTokenCount ?? 0, details?.CachedInputTokenCount ?? 0, details?.ReasoningTokenCount ?? 0, false),
            null);
    }

    private ChatTurn BuildTurn(Conversation conversation, string message)
    {
        var system = new ChatMessage(ChatRole.System, this.llm.SystemPrompt);
        var user = new ChatMessage(ChatRole.User, message);
        var room = this.HistoryBudget - tokens.CountPrompt([system]);

        // Counting stops past the room: a message too long for the window costs no more than one that fits.
        var messageTokens = tokens.CountMessage(message, stopAbove: room);
        var budget = room - messageTokens;
        if (budget < 0)
        {
            throw new ChatFailureException(
                LlmErrorTypes.ContextLengthExceeded,
                StatusCodes.Status413PayloadTooLarge,
                "The message does not fit the model's context window",
                $"The message takes more than the {Math.Max(room, 0)} tokens the context window leaves with the system prompt. Send a shorter message.");
        }

        // The newest messages that fit, in order.
        var history = conversation.Snapshot();
        var start = history.Count;
        while (start > 0 && history[start - 1].Tokens <= budget)
        {
            budget -= history[start - 1].Tokens;
            start--;
        }

        var prompt = new List<ChatMessage>(history.Count - start + 2) { system };
        for (var i = start; i < history.Count; i++)
        {
            prompt.Add(new ChatMessage(history[i].Role, history[i].Text));
        }

        prompt.Add(user);
        return new ChatTurn(conversation, message, messageTokens, prompt, history.Count - start, budget);
    }

    private async Task<ChatRequestBody> ReadBodyAsync(HttpContext context)
    {
        var httpRequest = context.Request;
        var limit = this.service.MaxRequestBodyBytes;
        if (httpRequest.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        if (!httpRequest.HasJsonContentType())
        {
            throw new ChatFailureException(
                LlmErrorTypes.InvalidRequest,
                StatusCodes.Status415UnsupportedMediaType,
                "Unsupported media type",
                "Send the chat as application/json.");
        }

        if (!IsUtf8(httpRequest.ContentType))
        {
            throw new ChatFailureException(
                LlmErrorTypes.InvalidRequest,
                StatusCodes.Status415UnsupportedMediaType,
                "Unsupported media type",
                "Send the chat as application/json in UTF-8 (no charset, or charset=utf-8).");
        }

        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await ReadBodyChunkAsync(context, chunk).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw TooLarge(limit);
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            var body = JsonSerializer.Deserialize<ChatRequestBody>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), Json);
            return body ?? throw new ChatFailureException("The request body must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new ChatFailureException("The request body is not valid JSON (expected { \"message\": \"...\", \"conversationId\": \"...\" }).", ex);
        }
    }

    /// <summary>
    /// Reads the next part of the body. A body the client got wrong (a malformed or oversized chunked transfer, one
    /// that arrives too slowly, a connection that ends mid-body) is the client's failure: it is answered and recorded
    /// as <c>invalid_request</c> or, when the client is gone, <c>cancelled</c>, never as the provider's.
    /// </summary>
    private static async ValueTask<int> ReadBodyChunkAsync(HttpContext context, byte[] chunk)
    {
        var aborted = context.RequestAborted;
        try
        {
            return await context.Request.Body.ReadAsync(chunk, aborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (!aborted.IsCancellationRequested)
        {
            throw ex.StatusCode switch
            {
                StatusCodes.Status408RequestTimeout => new ChatFailureException(
                    LlmErrorTypes.InvalidRequest, ex.StatusCode, "Request body timeout", "The request body arrived too slowly.", ex),
                StatusCodes.Status413PayloadTooLarge => new ChatFailureException(
                    LlmErrorTypes.InvalidRequest, ex.StatusCode, "Request body too large", "The request body is larger than the service accepts.", ex),
                _ => new ChatFailureException(
                    LlmErrorTypes.InvalidRequest, StatusCodes.Status400BadRequest, "Bad request", "The request body is malformed or incomplete (for example a bad chunk of a chunked transfer).", ex),
            };
        }
        catch (Exception ex) when (aborted.IsCancellationRequested || IsHangUp(ex))
        {
            throw new ChatFailureException(
                LlmErrorTypes.Cancelled,
                ChatProblemMapper.StatusClientClosedRequest,
                "The request was cancelled",
                "The client closed the connection before the request body arrived.",
                ex);
        }
        catch (Exception ex)
        {
            // Whatever else the server's body reader throws is about the bytes the client sent (Kestrel reports a
            // chunk size that overflows as an IOException around an OverflowException).
            throw new ChatFailureException(
                LlmErrorTypes.InvalidRequest, StatusCodes.Status400BadRequest, "Bad request", "The request body is malformed (for example a bad chunk of a chunked transfer).", ex);
        }
    }

    /// <summary>The client's connection ended while its body was read.</summary>
    private static bool IsHangUp(Exception exception)
        => exception is OperationCanceledException or ConnectionResetException || exception.InnerException is SocketException;

    /// <summary>Whether the content type names no charset or UTF-8: the body is read as UTF-8 bytes.</summary>
    private static bool IsUtf8(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || !media.Charset.HasValue)
        {
            return true;
        }

        var charset = media.Charset.Value.Trim('"');
        return charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Text without control characters (tab, line feed and carriage return excepted) or unpaired surrogates.</summary>
    internal static bool IsPlainText(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c) || (char.IsControl(c) && c is not ('\t' or '\n' or '\r')))
            {
                return false;
            }
        }

        return true;
    }

    private static ChatFailureException TooLarge(int limit) => new(
        LlmErrorTypes.InvalidRequest,
        StatusCodes.Status413PayloadTooLarge,
        "Request body too large",
        $"The request body is larger than {limit} bytes.");
}

/// <summary>A prepared chat turn: the conversation, the user's message, the prompt that fits the context window, the
/// tokens still free in it, and how many retrieved documents the prompt holds.</summary>
internal sealed record ChatTurn(
    Conversation Conversation, string Message, int MessageTokens, IReadOnlyList<ChatMessage> Prompt, int HistoryMessages, int RoomTokens, int Documents = 0);
