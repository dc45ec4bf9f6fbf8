using System.Runtime.CompilerServices;
using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests;

/// <summary>The ring keeps records as values and builds them when read: what is read back must be what was added,
/// whichever way a record is kept, and a reader must never see half of a record being written.</summary>
public class InMemoryLlmHistoryStoreTests
{
    [Fact]
    public void CompactRecord_ReadBack_EqualsWhatWasAdded_AndIsNotKeptAsAnObject()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 16);
        var added = Full(Hex(1), conversationId: Hex(2));
        Assert.Equal(1, store.Add(added));
        added = added.WithSeq(1);

        Assert.Equal(0, store.CountKeptAsObjects());
        var found = Assert.IsType<LlmRequestRecord>(store.Find(added.Id));
        Assert.NotSame(added, found);
        AssertSame(added, found);
        AssertSame(added, Assert.Single(store.Query(new LlmHistoryQuery())));
        AssertSame(added, Assert.Single(store.Since(added.StartTime)));
        Assert.Empty(store.Since(added.StartTime.AddTicks(1)));

        // Ids are found whatever their case, as before.
        Assert.NotNull(store.Find(added.Id.ToUpperInvariant()));
    }

    [Theory]
    [InlineData("custom-id")] // not 32 hex digits
    [InlineData("error message")]
    [InlineData("content")]
    [InlineData("nine steps")]
    [InlineData("conversation")]
    [InlineData("span id")]
    [InlineData("offset")]
    [InlineData("deep step")]
    public void RecordThatDoesNotFitASlot_IsKeptAsItIs(string what)
    {
        var store = new InMemoryLlmHistoryStore(capacity: 16);
        var record = what switch
        {
            "custom-id" => Full("custom-id"),
            "conversation" => Full(Hex(7), conversationId: "chat-42"),
            "error message" => Full(Hex(7), errorMessage: "The model timed out."),
            "content" => Full(Hex(7), content: new LlmContentRecord("hi", "hello")),
            "nine steps" => Full(Hex(7), steps: [.. Enumerable.Range(0, InMemoryLlmHistoryStore.StepsPerSlot + 1).Select(i => new LlmStepRecord($"s{i}", i, 1, "ok", null, 0))]),
            "span id" => Full(Hex(7), spanId: "not-a-span-id"),
            "deep step" => Full(Hex(7), steps: [new LlmStepRecord("deep", 0, 1, "error", null, 128, LlmStepKinds.LlmCall, "p/m@1")]),
            _ => Full(Hex(7), startTime: new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.FromHours(2))),
        };

        Assert.Equal(1, store.Add(record));
        store.Add(Full(Hex(8)));

        Assert.Equal(1, store.CountKeptAsObjects());
        AssertSame(record.WithSeq(1), store.Find(record.Id));
        Assert.Equal(0, record.Seq); // the caller's record is left as it was
        Assert.Equal([Hex(8), record.Id], store.Query(new LlmHistoryQuery()).Select(r => r.Id));
    }

    [Fact]
    public void EqualStrings_AreSharedByTheRing_NotKeptPerRecord()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 16);

        // A model name read from each response is a new string each time.
        for (var i = 0; i < 3; i++)
        {
            store.Add(Full(Hex(100 + i), model: new string("gpt-4o-mini".AsSpan())));
        }

        var models = store.Query(new LlmHistoryQuery()).Select(r => r.Model!).ToArray();
        Assert.Equal(["gpt-4o-mini", "gpt-4o-mini", "gpt-4o-mini"], models);
        Assert.Same(models[0], models[1]);
        Assert.Same(models[1], models[2]);
    }

    [Fact]
    public void AddedRecordObject_IsNotRetainedByTheRing()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 16);
        var weak = AddAndForget(store, Hex(5));

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(weak.IsAlive);
        Assert.Equal(Hex(5), store.Find(Hex(5))?.Id);
    }

    [Fact]
    public void MoreDistinctNamesThanTheTableHolds_AreStillKeptAndReadBack()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 6000);
        for (var i = 0; i < 5000; i++)
        {
            store.Add(Full(Hex(1000 + i), route: $"/jobs/{i}"));
        }

        Assert.True(store.CountKeptAsObjects() > 0);
        var all = store.Query(new LlmHistoryQuery { Limit = LlmHistoryQuery.MaxLimit, Route = "/jobs/4999" });
        Assert.Equal(Hex(5999), Assert.Single(all).Id);
        Assert.Equal("/jobs/0", store.Find(Hex(1000))?.Route);
        Assert.Equal(5000, store.Since(DateTimeOffset.MinValue).Count);
    }

    [Fact]
    public void Filters_OnCompactRecords_MatchAsOnObjects()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 64);
        for (var i = 0; i < 40; i++)
        {
            store.Add(Full(
                Hex(200 + i),
                status: i % 4 == 0 ? "error" : "ok",
                errorType: i % 4 == 0 ? LlmErrorTypes.RateLimited : null,
                model: i % 2 == 0 ? "gpt-4o" : "gpt-4o-mini",
                route: i % 5 == 0 ? "/api/chat/stream" : "/api/chat"));
        }

        var errors = store.Query(new LlmHistoryQuery { Status = "error", Limit = 500 });
        Assert.Equal(10, errors.Count);
        Assert.All(errors, r => Assert.Equal(LlmErrorTypes.RateLimited, r.ErrorType));
        Assert.Equal(20, store.Query(new LlmHistoryQuery { Model = "gpt-4o", Limit = 500 }).Count);
        Assert.Equal(8, store.Query(new LlmHistoryQuery { Route = "/api/chat/stream", Limit = 500 }).Count);
        Assert.Equal(4, store.Query(new LlmHistoryQuery { Route = "/api/chat/stream", Model = "gpt-4o", Limit = 500 }).Count);
        Assert.Empty(store.Query(new LlmHistoryQuery { Model = "unknown-model" }));
        Assert.Equal(Hex(239), Assert.Single(store.Query(new LlmHistoryQuery { Q = Hex(239).ToUpperInvariant() })).Id);
    }

    [Fact]
    public async Task ConcurrentWritersAndReaders_NeverSeeATornRecord()
    {
        // Each record's fields are derived from one number: a reader that copied half of one record and half of
        // another would see them disagree.
        var store = new InMemoryLlmHistoryStore(capacity: 4);
        var writing = 3;
        using var readerStarted = new ManualResetEventSlim();
        var writers = Enumerable.Range(0, 3).Select(w => Task.Factory.StartNew(() =>
        {
            readerStarted.Wait();
            for (var i = 0; i < 200_000; i++)
            {
                store.Add(Derived((w * 1_000_000) + i));
            }

            Interlocked.Decrement(ref writing);
        }, TaskCreationOptions.LongRunning)).ToArray();
        var torn = 0;
        var read = 0;
        var reader = Task.Factory.StartNew(() =>
        {
            readerStarted.Set();
            while (Volatile.Read(ref writing) > 0)
            {
                foreach (var record in store.Query(new LlmHistoryQuery { Limit = 500 }))
                {
                    read++;
                    var n = record.Usage.InputTokens;
                    if (record.Id != Hex(n) || record.Usage.OutputTokens != n * 2 || record.DurationMs != n
                        || record.Steps.Count != (int)(n % 5) || record.Steps.Any(s => s.DurationMs != n)
                        || record.ConversationId != Hex(n + 1) || record.CostUsd != n / 1000m)
                    {
                        torn++;
                    }
                }
            }
        }, TaskCreationOptions.LongRunning);

        await Task.WhenAll([.. writers, reader]);
        Assert.Equal(0, torn);
        Assert.True(read > 0);
        Assert.Equal(600_000, store.TotalAdded);
        Assert.Equal(0, store.CountKeptAsObjects());
        var newest = store.Query(new LlmHistoryQuery { Limit = 500 });
        Assert.Equal(4, newest.Count);
        Assert.True(newest.Zip(newest.Skip(1)).All(p => p.First.Seq == p.Second.Seq + 1));
    }

    [Fact]
    public async Task RingOfOne_UnderConcurrentWriters_KeepsOneWholeRecord()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 1);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                store.Add(Derived((w * 100_000) + i));
            }
        })));

        var kept = Assert.Single(store.Query(new LlmHistoryQuery()));
        Assert.Equal(40_000, kept.Seq);
        Assert.Equal(Hex(kept.Usage.InputTokens), kept.Id);
    }

    [Fact]
    public void RecordsOfTheProcessor_AreKeptAsValues()
    {
        using var host = TestHost.Start();
        var store = (InMemoryLlmHistoryStore)host.Instrumentation.History;
        using (var subscription = host.Instrumentation.Feed.Subscribe())
        {
            for (var i = 0; i < 10; i++)
            {
                using var request = host.Instrumentation.StartRequest("/api/chat", conversationId: Hex(900 + i));
                using (LlmStep.Start("preprocessing"))
                {
                }

                using (LlmStep.Start("llm_api_call"))
                {
                    request.RecordUsage("gpt-4o-mini", new LlmUsage(100, 20));
                }
            }

            Assert.True(subscription.Reader.TryRead(out var published));
            var read = store.Find(published.Id);
            Assert.NotNull(read);
            Assert.NotSame(published, read);
            AssertSame(published, read);
        }

        Assert.Equal(0, store.CountKeptAsObjects());
        Assert.Equal(10, store.Query(new LlmHistoryQuery()).Count);
    }

    [Fact]
    public void AttributedRecord_ReadBack_KeepsUserTenantPropertiesAndPrices_AsAValue()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 16);
        LlmStepRecord[] steps =
        [
            new("preprocessing", 0, 1, "ok", null, 0),
            new("chat gpt-4o", 1, 900, "ok", null, 0, LlmStepKinds.LlmCall, "openai/gpt-4o@2026-11-01"),
        ];
        var added = Full(Hex(1), steps: steps, userId: "user-7", tenantId: "acme", properties: new Dictionary<string, string> { ["plan"] = "pro", ["experiment"] = "b" });
        store.Add(added);

        Assert.Equal(0, store.CountKeptAsObjects());
        var found = store.Find(added.Id);
        AssertSame(added.WithSeq(1), found);
        Assert.Equal("openai/gpt-4o@2026-11-01", found!.Steps[1].Price);
        AssertSame(added.WithSeq(1), Assert.Single(store.Since(added.StartTime)));
    }

    [Fact]
    public void StepPrices_BeyondThePriceTable_KeepTheRecordAsAnObject_AndEveryPriceReadsBack()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 300);
        for (var i = 1; i <= 300; i++)
        {
            store.Add(Full(Hex(i), steps: [new LlmStepRecord("call", 0, 1, "ok", null, 127, LlmStepKinds.LlmCall, $"p/m{i}@2026-11-01")]));
        }

        Assert.Equal(300 - 255, store.CountKeptAsObjects());
        for (var i = 1; i <= 300; i++)
        {
            var step = Assert.Single(store.Find(Hex(i))!.Steps);
            Assert.Equal($"p/m{i}@2026-11-01", step.Price);
            Assert.Equal(127, step.Depth);
        }
    }

    [Fact]
    public void BytesPerRecord_AttributionAddsAtMostTwoReferencesToASlot()
    {
        // 344 B before attribution and the cache-write count (one long): a user and a properties reference, the tenant
        // in the slot's padding, and the price in a step's last byte. A step slot that grows costs eight times its growth.
        Assert.InRange(InMemoryLlmHistoryStore.BytesPerRecord, 1, 344 + 8 + 16);
    }

    [Fact]
    public void Query_ByUserTenantOrProperty_ReturnsOnlyTheMatchingRecords()
    {
        var store = new InMemoryLlmHistoryStore(capacity: 64);
        store.Add(Full(Hex(1), userId: "alice", tenantId: "acme", properties: new Dictionary<string, string> { ["plan"] = "pro" }));
        store.Add(Full(Hex(2), userId: "bob", tenantId: "acme", properties: new Dictionary<string, string> { ["plan"] = "free" }));
        store.Add(Full(Hex(3), userId: "alice", tenantId: "globex"));
        store.Add(Full(Hex(4)));
        store.Add(Full("custom-id", userId: "alice", tenantId: "acme", errorMessage: "kept as an object", properties: new Dictionary<string, string> { ["plan"] = "pro" }));

        string[] Ids(LlmHistoryQuery query) => [.. store.Query(query).Select(r => r.Id)];

        Assert.Equal(["custom-id", Hex(3), Hex(1)], Ids(new LlmHistoryQuery { UserId = "alice" }));
        Assert.Equal(["custom-id", Hex(2), Hex(1)], Ids(new LlmHistoryQuery { TenantId = "acme" }));
        Assert.Equal(["custom-id", Hex(1)], Ids(new LlmHistoryQuery { TenantId = "acme", UserId = "alice" }));
        Assert.Equal(["custom-id", Hex(2), Hex(1)], Ids(new LlmHistoryQuery { PropertyKey = "plan" }));
        Assert.Equal([Hex(2)], Ids(new LlmHistoryQuery { PropertyKey = "plan", PropertyValue = "free" }));
        Assert.Empty(Ids(new LlmHistoryQuery { UserId = "ALICE" })); // ids are exact
        Assert.Empty(Ids(new LlmHistoryQuery { TenantId = "initech" }));
        Assert.Empty(Ids(new LlmHistoryQuery { PropertyKey = "region" }));
    }

    [Fact]
    public void ManyDistinctUsers_AreAllKeptAsValues_BeyondTheUserTable()
    {
        const int users = 9000; // more than the table of user ids holds
        var store = new InMemoryLlmHistoryStore(capacity: users);
        for (var i = 1; i <= users; i++)
        {
            store.Add(Full(Hex(i), userId: $"user-{i}", tenantId: "acme"));
        }

        Assert.Equal(0, store.CountKeptAsObjects());
        Assert.Equal(Hex(1), Assert.Single(store.Query(new LlmHistoryQuery { UserId = "user-1" })).Id);
        Assert.Equal(Hex(users), Assert.Single(store.Query(new LlmHistoryQuery { UserId = $"user-{users}" })).Id);
        Assert.Equal($"user-{users - 1}", store.Find(Hex(users - 1))!.UserId);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AddAndForget(InMemoryLlmHistoryStore store, string id)
    {
        var record = Full(id);
        store.Add(record);
        return new WeakReference(record);
    }

    private static string Hex(long n) => n.ToString("x32", System.Globalization.CultureInfo.InvariantCulture);

    private static LlmRequestRecord Derived(long n) => new()
    {
        Id = Hex(n),
        TraceId = Hex(n),
        Route = "/api/chat",
        Status = "ok",
        ConversationId = Hex(n + 1),
        StartTime = DateTimeOffset.UnixEpoch.AddSeconds(n),
        DurationMs = n,
        Usage = new LlmUsage(n, n * 2),
        CostUsd = n / 1000m,
        Steps = [.. Enumerable.Range(0, (int)(n % 5)).Select(i => new LlmStepRecord("step", i, n, "ok", null, 0))],
    };

    private static readonly LlmStepRecord[] DefaultSteps =
    [
        new LlmStepRecord("preprocessing", 0.25, 1.5, "ok", null, 0),
        new LlmStepRecord("llm_api_call", 2, 1000.125, "error", LlmErrorTypes.Timeout, 0, LlmStepKinds.LlmCall),
        new LlmStepRecord("chat gpt-4o-mini", 2.5, 999, "error", LlmErrorTypes.Timeout, 1, "http"),
    ];

    private static LlmRequestRecord Full(
        string id,
        string? conversationId = null,
        string? errorMessage = null,
        LlmContentRecord? content = null,
        LlmStepRecord[]? steps = null,
        string spanId = "b7ad6b7169203331",
        DateTimeOffset? startTime = null,
        string model = "gpt-4o-mini-2024-07-18",
        string route = "/api/chat",
        string status = "error",
        string? errorType = LlmErrorTypes.Timeout,
        string? userId = null,
        string? tenantId = null,
        IReadOnlyDictionary<string, string>? properties = null) => new()
        {
            Id = id,
            TraceId = "0af7651916cd43dd8448eb211c80319c",
            SpanId = spanId,
            Route = route,
            Status = status,
            Model = model,
            Provider = "openai",
            ConversationId = conversationId,
            ErrorType = errorType,
            ErrorMessage = errorMessage,
            StartTime = startTime ?? new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero).AddTicks(1234567),
            DurationMs = 1234.5678,
            Usage = new LlmUsage(1200, 350, CachedInputTokens: 1024, ReasoningTokens: 64, Estimated: true),
            CostUsd = 0.000123456789m,
            Unpriced = false,
            Steps = steps ?? DefaultSteps,
            Content = content,
            UserId = userId,
            TenantId = tenantId,
            Properties = properties ?? new Dictionary<string, string>(),
        };

    private static void AssertSame(LlmRequestRecord expected, LlmRequestRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Seq, actual.Seq);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.TraceId, actual.TraceId);
        Assert.Equal(expected.SpanId, actual.SpanId);
        Assert.Equal(expected.Route, actual.Route);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.Model, actual.Model);
        Assert.Equal(expected.Provider, actual.Provider);
        Assert.Equal(expected.ConversationId, actual.ConversationId);
        Assert.Equal(expected.ErrorType, actual.ErrorType);
        Assert.Equal(expected.ErrorMessage, actual.ErrorMessage);
        Assert.Equal(expected.StartTime, actual.StartTime);
        Assert.Equal(expected.StartTime.Offset, actual.StartTime.Offset);
        Assert.Equal(expected.DurationMs, actual.DurationMs);
        Assert.Equal(expected.Usage, actual.Usage);
        Assert.Equal(expected.CostUsd, actual.CostUsd);
        Assert.Equal(expected.Unpriced, actual.Unpriced);
        Assert.Equal(expected.Steps, actual.Steps);
        Assert.Equal(expected.Content, actual.Content);
        Assert.Equal(expected.UserId, actual.UserId);
        Assert.Equal(expected.TenantId, actual.TenantId);
        Assert.Equal(expected.Properties.OrderBy(p => p.Key, StringComparer.Ordinal), actual.Properties.OrderBy(p => p.Key, StringComparer.Ordinal));
    }
}
