using ChatService.Llm;
using Microsoft.Extensions.AI;

namespace ChatService.Retrieval;

/// <summary>
/// A deterministic embedding model without network or key: a hashed bag of words (each lowercase word adds ±1 to one
/// of <see cref="Dimensions"/> components), normalized to length 1, with the input's o200k token count as usage so
/// that the call is priced as <c>text-embedding-3-small</c>.
/// </summary>
internal sealed class SimulatedEmbeddingGenerator(TokenCounter tokens, TimeProvider time, TimeSpan latency) : IEmbeddingGenerator<string, Embedding<float>>
{
    public const string Model = "text-embedding-3-small";
    public const int Dimensions = 256;

    private readonly EmbeddingGeneratorMetadata metadata = new("simulated", new Uri("simulated://embeddings"), Model, Dimensions);

    /// <summary>The vector of <paramref name="text"/>, without usage or latency: also how the document index embeds.</summary>
    public static float[] Vector(string text)
    {
        var vector = new float[Dimensions];
        foreach (var word in Words(text))
        {
            var hash = Fnv(word);
            vector[hash % Dimensions] += (hash & 0x8000_0000u) == 0 ? 1f : -1f;
        }

        var length = MathF.Sqrt(vector.Sum(v => v * v));
        if (length > 0)
        {
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] /= length;
            }
        }

        return vector;
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var inputs = values.ToList();
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, time, cancellationToken).ConfigureAwait(false);
        }

        var created = time.GetUtcNow();
        var embeddings = new GeneratedEmbeddings<Embedding<float>>(inputs.Select(v => new Embedding<float>(Vector(v)) { ModelId = Model, CreatedAt = created }))
        {
            Usage = new UsageDetails { InputTokenCount = inputs.Sum(v => (long)tokens.Count(v)) },
        };
        embeddings.Usage.TotalTokenCount = embeddings.Usage.InputTokenCount;
        return embeddings;
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? this.metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    public void Dispose()
    {
    }

    private static IEnumerable<string> Words(string text)
    {
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var letter = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (letter && start < 0)
            {
                start = i;
            }
            else if (!letter && start >= 0)
            {
                if (i - start > 2)
                {
                    yield return text[start..i].ToLowerInvariant(); // words of one or two letters say little
                }

                start = -1;
            }
        }
    }

    private static uint Fnv(string word)
    {
        var hash = 2166136261u;
        foreach (var c in word)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
