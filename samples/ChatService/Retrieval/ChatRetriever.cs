using System.Text;
using ChatService.Chat;
using ChatService.Configuration;
using ChatService.Llm;
using LlmApm.Otel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ChatService.Retrieval;

/// <summary>
/// The <c>retrieve</c> step before the model call: embeds the user's message (an <c>embedding_call</c> step inside it,
/// made by <c>UseLlmApm()</c> on the generator), finds the closest documents of the <see cref="DocumentIndex"/> and
/// puts those that fit the context window's room into the prompt as a system message. Its span carries counts only,
/// never the message or the documents.
/// </summary>
internal sealed class ChatRetriever(
    IEmbeddingGenerator<string, Embedding<float>> embeddings,
    DocumentIndex index,
    TokenCounter tokens,
    IOptions<ChatServiceOptions> serviceOptions,
    IOptions<LlmOptions> llmOptions)
{
    public const string StepName = "retrieve";

    private readonly RetrievalOptions options = serviceOptions.Value.Retrieval;

    /// <summary>Whether retrieval runs: <c>ChatService:Retrieval:Enabled</c>, by default only with the simulated provider.</summary>
    public bool Enabled { get; } = serviceOptions.Value.Retrieval.Enabled ?? llmOptions.Value.Provider == LlmProvider.Simulated;

    public async Task<ChatTurn> AugmentAsync(ChatTurn turn, CancellationToken cancellationToken)
    {
        if (!this.Enabled)
        {
            return turn;
        }

        using var step = LlmStep.Start(StepName);
        try
        {
            var embedding = await embeddings.GenerateAsync(turn.Message, cancellationToken: cancellationToken).ConfigureAwait(false);
            var found = index.Search(embedding.Vector.Span, this.options.TopK, this.options.MinScore);

            // The documents that fit the room the prompt left in the context window, best first.
            var context = new StringBuilder("Documents that may help (use them if relevant):");
            var room = turn.RoomTokens - tokens.CountMessage(context.ToString());
            var used = 0;
            foreach (var (document, _) in found)
            {
                var line = $"\n- {document.Title}: {document.Text}";
                var cost = tokens.Count(line);
                if (cost > room)
                {
                    break;
                }

                context.Append(line);
                room -= cost;
                used++;
            }

            step.Activity?.SetTag("retrieval.documents.found", found.Count);
            step.Activity?.SetTag("retrieval.documents.used", used);
            if (used == 0)
            {
                return turn;
            }

            // Just before the user's message: the model reads it as context of this turn.
            var prompt = new List<ChatMessage>(turn.Prompt);
            prompt.Insert(prompt.Count - 1, new ChatMessage(ChatRole.System, context.ToString()));
            return turn with { Prompt = prompt, RoomTokens = room, Documents = used };
        }
        catch (Exception ex) when (step.Fail(ex, cancellationToken))
        {
            throw; // Never reached: Fail returns false.
        }
    }
}
