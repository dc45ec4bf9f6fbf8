using LlmApm.Otel.History;

namespace LlmApm.Otel;

/// <summary>The scores of the in-memory history, beside its ring: scores come after their request is kept, and a ring
/// slot is a value that is never rewritten. Bounded: the scores of at most as many requests as the ring holds (the
/// oldest request's scores go first), and at most <see cref="MaxPerRequest"/> per request (the oldest goes first).
/// Scores are rare next to requests: one lock is enough.</summary>
internal sealed class LlmScoreTable(int capacity)
{
    /// <summary>The most scores one request keeps.</summary>
    internal const int MaxPerRequest = 32;

    private readonly Dictionary<string, List<LlmScore>> byId = new(StringComparer.OrdinalIgnoreCase);
    private readonly Queue<string> order = new();
    private readonly Lock gate = new();
    private volatile int count;

    /// <summary>Gets a value indicating whether no request has a score: reads skip the table then.</summary>
    public bool IsEmpty => this.count == 0;

    public void Add(string id, LlmScore score)
    {
        lock (this.gate)
        {
            if (!this.byId.TryGetValue(id, out var scores))
            {
                if (this.byId.Count >= capacity && this.order.TryDequeue(out var oldest))
                {
                    this.byId.Remove(oldest);
                }

                scores = [];
                this.byId[id] = scores;
                this.order.Enqueue(id);
                this.count = this.byId.Count;
            }

            if (scores.Count >= MaxPerRequest)
            {
                scores.RemoveAt(0);
            }

            scores.Add(score);
        }
    }

    /// <summary>The record with its scores attached, or the record itself when it has none here.</summary>
    public LlmRequestRecord Attach(LlmRequestRecord record)
    {
        if (this.IsEmpty)
        {
            return record;
        }

        lock (this.gate)
        {
            return this.byId.TryGetValue(record.Id, out var scores) ? record.WithScores([.. scores]) : record;
        }
    }
}
