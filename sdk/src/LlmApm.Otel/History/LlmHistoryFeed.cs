using System.Threading.Channels;

namespace LlmApm.Otel.History;

/// <summary>The live feed of finished requests. Publishing never waits: a subscriber whose buffer is full is
/// dropped (its reader completes) rather than slowing the request path.</summary>
internal sealed class LlmHistoryFeed
{
    private LlmHistorySubscription[] subscribers = [];

    /// <summary>Gets the number of subscribers.</summary>
    public int SubscriberCount => Volatile.Read(ref this.subscribers).Length;

    /// <summary>Subscribes to finished requests. Dispose the subscription to leave.</summary>
    /// <param name="bufferSize">How many records may wait for the subscriber before it is dropped.</param>
    /// <returns>The subscription.</returns>
    public LlmHistorySubscription Subscribe(int bufferSize = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 1);
        var subscription = new LlmHistorySubscription(this, bufferSize);
        LlmHistorySubscription[] current, updated;
        do
        {
            current = Volatile.Read(ref this.subscribers);
            updated = [.. current, subscription];
        }
        while (Interlocked.CompareExchange(ref this.subscribers, updated, current) != current);
        return subscription;
    }

    /// <summary>Sends <paramref name="record"/> to every subscriber without waiting.</summary>
    /// <param name="record">The finished request.</param>
    public void Publish(LlmRequestRecord record)
    {
        foreach (var subscriber in Volatile.Read(ref this.subscribers))
        {
            if (!subscriber.TryWrite(record))
            {
                LlmApmEventSource.Log.SubscriberDropped();
                subscriber.Dispose();
            }
        }
    }

    internal void Remove(LlmHistorySubscription subscription)
    {
        LlmHistorySubscription[] current, updated;
        do
        {
            current = Volatile.Read(ref this.subscribers);
            var index = Array.IndexOf(current, subscription);
            if (index < 0)
            {
                return;
            }

            updated = [.. current[..index], .. current[(index + 1)..]];
        }
        while (Interlocked.CompareExchange(ref this.subscribers, updated, current) != current);
    }
}

/// <summary>A subscription to the <see cref="LlmHistoryFeed"/>.</summary>
internal sealed class LlmHistorySubscription : IDisposable
{
    private readonly LlmHistoryFeed feed;
    private readonly Channel<LlmRequestRecord> channel;
    private int dropped;

    internal LlmHistorySubscription(LlmHistoryFeed feed, int bufferSize)
    {
        this.feed = feed;
        this.channel = Channel.CreateBounded<LlmRequestRecord>(new BoundedChannelOptions(bufferSize)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Gets the reader of finished requests. It completes when the subscription is disposed or dropped.</summary>
    public ChannelReader<LlmRequestRecord> Reader => this.channel.Reader;

    /// <summary>Gets a value indicating whether the feed dropped this subscriber because it could not keep up.</summary>
    public bool WasDropped => Volatile.Read(ref this.dropped) != 0;

    /// <summary>Leaves the feed.</summary>
    public void Dispose()
    {
        this.feed.Remove(this);
        this.channel.Writer.TryComplete();
    }

    internal bool TryWrite(LlmRequestRecord record)
    {
        if (this.channel.Writer.TryWrite(record))
        {
            return true;
        }

        // TryWrite fails on a full buffer (or a completed channel): the subscriber is too slow.
        Interlocked.Exchange(ref this.dropped, 1);
        return false;
    }
}
