using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChatService.Configuration;
using ChatService.Tools;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ChatService.Llm;

/// <summary>
/// A deterministic LLM without network or key: replies derived from the prompt, token counts from the o200k
/// tokenizer, a latency model, streaming with usage in the last update, injected faults. Directives in the last user
/// message: <c>/echo text</c>, <c>/fault type</c>, <c>/model name text</c>, <c>/tool name {json arguments}</c>.
/// Like a real model it calls a tool offered in the options when the message asks for it: "what time" or "current
/// time" (with "in Area/City" for a zone) calls <c>get_current_time</c>, "order" and an id with a digit calls
/// <c>lookup_order</c>; after the tool's result it answers with that result.
/// </summary>
internal sealed partial class SimulatedChatClient : IChatClient
{
    public const string ProviderName = "simulated";

    private static readonly string[] Openings =
    [
        "Here is a short answer.",
        "Good question.",
        "Let me think about that.",
        "In short:",
        "A few points come to mind.",
    ];

    private static readonly string[] Sentences =
    [
        "Observability starts with asking which step of a request is slow.",
        "Traces show where the time goes, step by step.",
        "Token counts drive the cost of every interaction.",
        "A price table turns tokens into dollars per request.",
        "Rate limits are easier to handle when you can see them coming.",
        "Streaming makes the first token arrive sooner, even when the whole reply takes a while.",
        "Errors are more useful when they are classified by kind.",
        "A histogram of latency tells more than an average.",
        "Conversations grow, so the prompt has to be fitted to the context window.",
        "Caching repeated prompts can cut the input cost noticeably.",
        "Prometheus scrapes counters and histograms; Grafana draws them.",
        "Each request keeps its own history record with steps, tokens and cost.",
        "Short prompts answer faster and cost less.",
        "Time to first token is what a user feels first.",
        "Retries hide transient failures but add latency.",
        "A model's reply is parsed and saved after the call returns.",
    ];

    private readonly LlmOptions options;
    private readonly TokenCounter tokens;
    private readonly TimeProvider time;
    private readonly ChatClientMetadata metadata;

    public SimulatedChatClient(IOptions<LlmOptions> options, TokenCounter tokens, TimeProvider time)
    {
        this.options = options.Value;
        this.tokens = tokens;
        this.time = time;
        this.metadata = new ChatClientMetadata(ProviderName, new Uri("simulated://llm"), this.options.Model);
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var plan = this.Plan(messages, options);
        var simulated = this.options.Simulated;
        var latency = TimeSpan.FromMilliseconds(simulated.TimeToFirstTokenMs + ((double)simulated.PerTokenMs * plan.OutputTokens));
        if (plan.Fault is not null)
        {
            await this.FailAsync(plan.Fault, TimeSpan.FromMilliseconds(simulated.TimeToFirstTokenMs), cancellationToken).ConfigureAwait(false);
        }

        await this.DelayWithinTimeoutAsync(latency, cancellationToken).ConfigureAwait(false);
        var message = plan.ToolCall is null
            ? new ChatMessage(ChatRole.Assistant, plan.Reply)
            : new ChatMessage(ChatRole.Assistant, [plan.ToolCall]);
        message.MessageId = plan.ResponseId;
        return new ChatResponse(message)
        {
            ResponseId = plan.ResponseId,
            ModelId = plan.Model,
            CreatedAt = this.time.GetUtcNow(),
            FinishReason = plan.FinishReason,
            Usage = plan.Usage,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var plan = this.Plan(messages, options);
        var simulated = this.options.Simulated;
        var firstToken = TimeSpan.FromMilliseconds(simulated.TimeToFirstTokenMs);
        if (plan.Fault is not null)
        {
            await this.FailAsync(plan.Fault, firstToken, cancellationToken).ConfigureAwait(false);
        }

        await this.DelayWithinTimeoutAsync(firstToken, cancellationToken).ConfigureAwait(false);
        var created = this.time.GetUtcNow();
        if (plan.ToolCall is not null)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, [plan.ToolCall])
            {
                ResponseId = plan.ResponseId,
                MessageId = plan.ResponseId,
                ModelId = plan.Model,
                CreatedAt = created,
            };
        }

        var first = true;
        foreach (var chunk in plan.ToolCall is null ? Chunk(plan.Reply) : [])
        {
            if (!first && simulated.PerTokenMs > 0)
            {
                var delay = TimeSpan.FromMilliseconds((double)simulated.PerTokenMs * this.tokens.Count(chunk));
                await this.DelayWithinTimeoutAsync(delay, cancellationToken).ConfigureAwait(false);
            }

            first = false;
            yield return new ChatResponseUpdate(ChatRole.Assistant, chunk)
            {
                ResponseId = plan.ResponseId,
                MessageId = plan.ResponseId,
                ModelId = plan.Model,
                CreatedAt = created,
            };
        }

        yield return new ChatResponseUpdate
        {
            Role = ChatRole.Assistant,
            ResponseId = plan.ResponseId,
            MessageId = plan.ResponseId,
            ModelId = plan.Model,
            CreatedAt = created,
            FinishReason = plan.FinishReason,
            Contents = [new UsageContent(plan.Usage)],
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return this.metadata;
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    public void Dispose()
    {
    }

    /// <summary>Splits a reply into stream chunks of a few words, spaces kept, so that the chunks join to the reply.</summary>
    internal static IEnumerable<string> Chunk(string reply)
    {
        const int WordsPerChunk = 3;
        var builder = new StringBuilder();
        var words = 0;
        for (var i = 0; i < reply.Length; i++)
        {
            builder.Append(reply[i]);
            if (reply[i] == ' ' && ++words == WordsPerChunk)
            {
                yield return builder.ToString();
                builder.Clear();
                words = 0;
            }
        }

        if (builder.Length > 0)
        {
            yield return builder.ToString();
        }
    }

    private static uint StableHash(string text)
    {
        // FNV-1a: the same prompt gives the same reply in every process.
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }

    private static string ComposeReply(string prompt)
    {
        var random = new Random((int)StableHash(prompt));
        var builder = new StringBuilder(Openings[random.Next(Openings.Length)]);
        var topic = string.Join(' ', prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(8));
        if (topic.Length > 0)
        {
            builder.Append(CultureInfo.InvariantCulture, $" You wrote: \"{topic}\".");
        }

        var count = 2 + random.Next(5);
        for (var i = 0; i < count; i++)
        {
            builder.Append(' ').Append(Sentences[random.Next(Sentences.Length)]);
        }

        return builder.ToString();
    }

    private async Task FailAsync(string fault, TimeSpan firstToken, CancellationToken cancellationToken)
    {
        if (fault == SimulatedFaults.Timeout)
        {
            // The real client gives up after its network timeout.
            await Task.Delay(this.options.Timeout, this.time, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await Task.Delay(firstToken, this.time, cancellationToken).ConfigureAwait(false);
        }

        throw SimulatedFaults.Create(fault, this.options.Timeout);
    }

    private async Task DelayWithinTimeoutAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return;
        }

        if (delay > this.options.Timeout)
        {
            await Task.Delay(this.options.Timeout, this.time, cancellationToken).ConfigureAwait(false);
            throw SimulatedFaults.CreateTimeout(this.options.Timeout);
        }

        await Task.Delay(delay, this.time, cancellationToken).ConfigureAwait(false);
    }

    private Plan Plan(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions)
    {
        var prompt = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var lastUser = prompt.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? string.Empty;
        var model = chatOptions?.ModelId ?? this.options.Model;
        string? fault = null;
        string? reply = null;
        FunctionCallContent? toolCall = null;

        // After a tool's result (the last message is the tool's), the answer is that result.
        if (prompt.Count > 0 && prompt[^1].Role == ChatRole.Tool)
        {
            reply = AnswerFromToolResults(prompt);
        }

        var text = lastUser.Trim();
        while (reply is null && fault is null && toolCall is null)
        {
            if (TryDirective(text, "/model", out var rest))
            {
                var split = rest.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
                if (split.Length > 0)
                {
                    model = split[0];
                }

                text = split.Length > 1 ? split[1].Trim() : string.Empty;
            }
            else if (TryDirective(text, "/echo", out rest))
            {
                reply = rest;
            }
            else if (TryDirective(text, "/tool", out rest))
            {
                var split = rest.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
                var name = split.FirstOrDefault() ?? string.Empty;
                if (!Offers(chatOptions, name))
                {
                    reply = $"No tool '{name}' is offered. Offered tools: {string.Join(", ", chatOptions?.Tools?.Select(t => t.Name) ?? [])}.";
                }
                else if (!TryParseArguments(split.Length > 1 ? split[1] : null, out var arguments))
                {
                    reply = "The /tool arguments must be a JSON object, for example /tool get_current_time {\"timeZone\":\"Europe/Paris\"}.";
                }
                else
                {
                    toolCall = NewToolCall(name, arguments);
                }
            }
            else if (TryDirective(text, "/fault", out rest))
            {
                var type = rest.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? string.Empty;
                var known = SimulatedLlmOptions.FaultTypes.FirstOrDefault(t => string.Equals(t, type, StringComparison.OrdinalIgnoreCase));
                if (known is not null)
                {
                    fault = known;
                }
                else
                {
                    reply = $"Unknown fault type '{type}'. Known types: {string.Join(", ", SimulatedLlmOptions.FaultTypes)}.";
                }
            }
            else
            {
                toolCall = AskedTool(text, chatOptions);
                reply = toolCall is null ? ComposeReply(text) : null;
            }
        }

        fault ??= this.DrawFault();
        reply ??= string.Empty;

        var maxOutput = chatOptions?.MaxOutputTokens ?? this.options.MaxOutputTokens;
        var outputTokens = toolCall is null ? this.tokens.Count(reply) : this.tokens.Count($"{toolCall.Name} {JsonSerializer.Serialize(toolCall.Arguments)}");
        var finish = toolCall is null ? ChatFinishReason.Stop : ChatFinishReason.ToolCalls;
        if (outputTokens > maxOutput)
        {
            reply = this.tokens.Truncate(reply, maxOutput);
            outputTokens = this.tokens.Count(reply);
            finish = ChatFinishReason.Length;
        }

        var inputTokens = this.tokens.CountPrompt(prompt);
        var usage = new UsageDetails
        {
            InputTokenCount = inputTokens,
            OutputTokenCount = fault is null ? outputTokens : 0,
            TotalTokenCount = inputTokens + (fault is null ? outputTokens : 0),
        };

        var responseId = "chatcmpl-sim-" + Guid.NewGuid().ToString("N")[..24];
        return new Plan(reply, model, fault, outputTokens, finish, usage, responseId, toolCall);
    }

    /// <summary>The tool the message asks for, if it is offered: its trigger words are in the class's summary.</summary>
    private static FunctionCallContent? AskedTool(string text, ChatOptions? chatOptions)
    {
        if (Offers(chatOptions, ChatTools.CurrentTimeName) && TimeQuestion().IsMatch(text))
        {
            var zone = ZoneName().Match(text);
            return NewToolCall(ChatTools.CurrentTimeName, zone.Success ? new Dictionary<string, object?> { ["timeZone"] = zone.Groups[1].Value } : []);
        }

        var order = OrderMention().Match(text);
        return order.Success && Offers(chatOptions, ChatTools.LookupOrderName)
            ? NewToolCall(ChatTools.LookupOrderName, new Dictionary<string, object?> { ["orderId"] = order.Groups[1].Value })
            : null;
    }

    private static bool Offers(ChatOptions? chatOptions, string name)
        => chatOptions?.Tools?.Any(t => string.Equals(t.Name, name, StringComparison.Ordinal)) == true;

    private static FunctionCallContent NewToolCall(string name, IDictionary<string, object?> arguments)
        => new("call_sim_" + Guid.NewGuid().ToString("N")[..16], name, arguments);

    private static bool TryParseArguments(string? json, out IDictionary<string, object?> arguments)
    {
        arguments = new Dictionary<string, object?>();
        if (string.IsNullOrWhiteSpace(json))
        {
            return true;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                arguments[property.Name] = property.Value.Clone();
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The answer after the tools of the last assistant message ran: what each returned (its error included).</summary>
    private static string AnswerFromToolResults(IReadOnlyList<ChatMessage> prompt)
    {
        const int MaxResultLength = 400;
        var calls = prompt.SelectMany(m => m.Contents.OfType<FunctionCallContent>()).ToDictionary(c => c.CallId, c => c.Name, StringComparer.Ordinal);
        var builder = new StringBuilder();
        for (var i = prompt.Count - 1; i >= 0 && prompt[i].Role == ChatRole.Tool; i--)
        {
            foreach (var result in prompt[i].Contents.OfType<FunctionResultContent>())
            {
                var name = calls.GetValueOrDefault(result.CallId, "the tool");
                var value = result.Result switch
                {
                    null => "nothing",
                    string s => s,
                    JsonElement { ValueKind: JsonValueKind.String } e => e.GetString() ?? string.Empty,
                    var other => other.ToString() ?? string.Empty,
                };
                if (value.Length > MaxResultLength)
                {
                    value = value[..MaxResultLength] + "…";
                }

                builder.Insert(0, value.StartsWith("Error:", StringComparison.Ordinal)
                    ? $"I could not use {name}. {value} "
                    : $"I asked {name}: {value} ");
            }
        }

        return builder.ToString().Trim();
    }

    [GeneratedRegex(@"\b(what time|current time|time is it)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)]
    private static partial Regex TimeQuestion();

    [GeneratedRegex(@"\bin ([A-Za-z_]+/[A-Za-z_+\-]+(?:/[A-Za-z_]+)?)", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)]
    private static partial Regex ZoneName();

    [GeneratedRegex(@"\border\s+(?:#|number\s+|no\.?\s*)?([A-Za-z0-9\-]*[0-9][A-Za-z0-9\-]*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)]
    private static partial Regex OrderMention();

    private string? DrawFault()
    {
        var faults = this.options.Simulated.Faults;
        if (faults.Count == 0)
        {
            return null;
        }

#pragma warning disable CA5394 // Fault injection needs no cryptographic randomness.
        var draw = Random.Shared.NextDouble();
#pragma warning restore CA5394
        foreach (var (type, rate) in faults)
        {
            if (draw < rate)
            {
                return SimulatedLlmOptions.FaultTypes.First(t => string.Equals(t, type, StringComparison.OrdinalIgnoreCase));
            }

            draw -= rate;
        }

        return null;
    }

    private static bool TryDirective(string text, string directive, out string rest)
    {
        if (text.StartsWith(directive, StringComparison.OrdinalIgnoreCase)
            && (text.Length == directive.Length || char.IsWhiteSpace(text[directive.Length])))
        {
            rest = text[directive.Length..].TrimStart();
            return true;
        }

        rest = string.Empty;
        return false;
    }
}

/// <summary>What the simulator will answer to one prompt.</summary>
internal sealed record Plan(
    string Reply, string Model, string? Fault, int OutputTokens, ChatFinishReason FinishReason, UsageDetails Usage, string ResponseId, FunctionCallContent? ToolCall = null);
