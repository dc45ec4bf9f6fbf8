using System.Collections.Concurrent;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Counts the open live-stream connections of each client address.</summary>
internal sealed class LlmApmStreamConnections
{
    private readonly ConcurrentDictionary<string, int> open = new(StringComparer.Ordinal);

    public bool TryAcquire(string client, int max, out int current)
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

    public void Release(string client)
    {
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
}
