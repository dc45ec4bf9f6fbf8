namespace ChatService.Retrieval;

/// <summary>The sample's knowledge base: a dozen short product and FAQ snippets, embedded once, searched by cosine
/// similarity. Shipped in code: the sample has no vector database, only the shape of a retrieval step.</summary>
internal sealed class DocumentIndex
{
    private static readonly Document[] Documents =
    [
        new("Shipping", "Orders ship within two business days; tracking numbers are emailed when an order is shipped."),
        new("Returns", "Items can be returned within 30 days of delivery for a full refund, unopened or defective."),
        new("Order status", "An order is processing, shipped, delivered or cancelled; ask for an order by its number."),
        new("Cancelling an order", "A processing order can be cancelled from the account page until it is shipped."),
        new("Warranty", "Keyboards and monitors carry a two-year warranty; cables carry one year."),
        new("Payment", "We accept cards and bank transfers; the card is charged when the order ships."),
        new("Support hours", "Support answers chats from 08:00 to 20:00 Central European Time, Monday to Saturday."),
        new("Time zones", "Support works in Europe/Paris time; ask the assistant for the current time in your zone."),
        new("Latency", "Slow replies usually come from the model call; the request waterfall shows each step's time."),
        new("Token costs", "Each reply costs input and output tokens; long conversations cost more per message."),
        new("Streaming", "Streaming shows the first words of a reply sooner, while the rest is generated."),
        new("Rate limits", "Providers answer 429 when a key sends too much; the service retries after the wait they ask."),
    ];

    private readonly float[][] vectors = Documents.Select(d => SimulatedEmbeddingGenerator.Vector($"{d.Title} {d.Text}")).ToArray();

    /// <summary>The <paramref name="count"/> documents most similar to <paramref name="query"/>, best first, those
    /// with a similarity of at least <paramref name="minScore"/> only.</summary>
    public IReadOnlyList<(Document Document, float Score)> Search(ReadOnlySpan<float> query, int count, float minScore)
    {
        var scored = new List<(Document, float)>(Documents.Length);
        for (var i = 0; i < Documents.Length; i++)
        {
            var score = Cosine(query, this.vectors[i]);
            if (score >= minScore)
            {
                scored.Add((Documents[i], score));
            }
        }

        return scored.OrderByDescending(s => s.Item2).Take(count).ToList();
    }

    private static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            return 0;
        }

        float dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return na == 0 || nb == 0 ? 0 : dot / (MathF.Sqrt(na) * MathF.Sqrt(nb));
    }
}

/// <summary>One snippet of the <see cref="DocumentIndex"/>.</summary>
internal sealed record Document(string Title, string Text);
