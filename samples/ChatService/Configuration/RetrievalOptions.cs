namespace ChatService.Configuration;

/// <summary>The retrieval step before the model call, section <c>ChatService:Retrieval</c>.</summary>
public sealed class RetrievalOptions
{
    /// <summary>Gets or sets a value indicating whether the chat retrieves documents before the model call. Default:
    /// on with the simulated provider, off with a real one (the embeddings are always the simulated model's).</summary>
    public bool? Enabled { get; set; }

    /// <summary>Gets or sets how many documents are retrieved at most (1–10). Default: 3.</summary>
    public int TopK { get; set; } = 3;

    /// <summary>Gets or sets the least cosine similarity of a retrieved document (0–1). Default: 0.1.</summary>
    public float MinScore { get; set; } = 0.1f;

    /// <summary>Gets or sets the simulated embedding model's latency. Default: 20 ms.</summary>
    public TimeSpan EmbeddingLatency { get; set; } = TimeSpan.FromMilliseconds(20);
}
