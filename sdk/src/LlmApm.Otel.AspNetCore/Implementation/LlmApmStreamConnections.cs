using System.Collections.Concurrent;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Counts the open live-stream connections: in all, and of each client address.</summary>
internal sealed class LlmApmStreamConnections
{
    private readonly ConcurrentDictionary<string, int> open = new(StringComparer.Ordinal);
    private int total;

    /// <summary>Why <see cref="TryAcquire"/> refused a connection.</summary>
    internal enum Refusal
    {
        /// <summary>The connection was accepted.</summary>
        None,

        /// <summary>The client holds its share of connections already.</summary>
        ClientLimit,

        /// <summary>The server holds as many connections as it serves at once.</summary>
        ServerLimit,
    }

    internal int Total => Volatile.Read(ref this.total);

    /// <summary>Takes one connection for <paramref name="client"/>, unless the client holds <paramref name="maxPerClient"/>
    /// or the server <paramref name="maxTotal"/> already. A taken connection is given back with <see cref="Release"/>.</summary>
    public Refusal TryAcquire(string client, int maxPerClient, int maxTotal, out int current)
    {
        // The global slot first: a refused client never holds one.
        if (Interlocked.Increment(ref this.total) > maxTotal)
        {
            Interlocked.Decrement(ref this.total);
            current = this.OpenFor(client);
            return Refusal.ServerLimit;
        }

        if (!this.TryAcquireForClient(client, maxPerClient, out current))
        {
            Interlocked.Decrement(ref this.total);
            return Refusal.ClientLimit;
        }

        return Refusal.None;
    }

    public void Release(string client)
    {
        Interlocked.Decrement(ref this.total);
        while (this.open.TryGetValue(client, out var current))
        {
            if (current <= 1)
            {
                if (this.open.TryRemove(new KeyValuePair<string, int>(client, current)))
                {
                    return;
                }
            }
            else if (this.open.TryUpdate(client, current - 1, current))
            {
                return;
            }
        }
    }

    internal int OpenFor(string client) => this.open.TryGetValue(client, out var current) ? current : 0;

    private bool TryAcquireForClient(string client, int max, out int current)
    {
        while (true)
        {
            if (this.open.TryGetValue(client, out current))
            {
                if (current >= max)
                {
                    return false;
                }

                if (this.open.TryUpdate(client, current + 1, current))
                {
                    return true;
                }
            }
            else
            {
                if (max <= 0)
                {
                    return false;
                }

                if (this.open.TryAdd(client, 1))
                {
                    current = 0;
                    return true;
                }
            }
        }
    }
}
