using LlmApm.Otel.History;

namespace LlmApm.Otel.PostgreSql.Implementation;

/// <summary>Brings other replicas' finished requests into this replica's live stream. Polling rather than
/// LISTEN/NOTIFY: it needs no dedicated connection that must survive a database restart, and it costs one small
/// query per interval (the replicas table) when nothing changed. A record reaches other replicas' live streams at
/// most the writer's flush interval plus the poll interval after it finished (2 s with the defaults). This replica's
/// own records reach its live stream at once through the history processor.</summary>
internal sealed class PostgreSqlLiveRelay(PostgreSqlLlmHistoryStore store, LlmHistoryFeed feed, PostgreSqlHistoryOptions options)
{
    private const int MostPerReplica = 1000;
    private readonly Dictionary<string, long> cursors = new(StringComparer.Ordinal);
    private readonly long startedAt = SeqClock.AtOrAfter(DateTimeOffset.UtcNow) - 1;

    public async Task RunAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(options.LivePollInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                this.PollOnce();
            }
        }
        catch (OperationCanceledException)
        {
            // The host stops.
        }
    }

    /// <summary>Publishes what other replicas wrote since the last poll; returns how many records.</summary>
    internal int PollOnce()
    {
        if (!store.IsMigrated)
        {
            return 0;
        }

        try
        {
            var published = 0;
            foreach (var (replica, last) in store.ReadReplicaCursors())
            {
                if (store.IsOwn(replica))
                {
                    continue;
                }

                // Nobody watching: skip ahead, never replay history. A replica seen for the first time: from when this
                // relay started (its numbers are times), so that a replica that starts later is streamed from its first.
                if (feed.SubscriberCount == 0)
                {
                    this.cursors[replica] = last;
                    continue;
                }

                if (!this.cursors.TryGetValue(replica, out var seen))
                {
                    seen = Math.Min(last, this.startedAt);
                }

                while (seen < last)
                {
                    var records = store.ReadNewer(replica, seen, MostPerReplica);
                    foreach (var record in records)
                    {
                        feed.Publish(record);
                        seen = record.Seq;
                        published++;
                    }

                    if (records.Count < MostPerReplica)
                    {
                        break;
                    }
                }

                this.cursors[replica] = Math.Max(seen, last);
            }

            return published;
        }
        catch (LlmHistoryUnavailableException)
        {
            // The store's health says why; the next poll tries again.
            return 0;
        }
    }
}
