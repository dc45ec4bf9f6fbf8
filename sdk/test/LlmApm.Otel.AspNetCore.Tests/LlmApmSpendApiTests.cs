using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmApm.Otel.History;
using LlmApm.Otel.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary><c>GET api/spend</c>: rows by tenant, user, route or model from the store, its parameters checked, shared
/// among pollers. In the process-wide collection because one test serves real requests whose spans every host sees.</summary>
[Collection(ProcessWideTelemetry.Name)]
public sealed class LlmApmSpendApiTests
{
    [Fact]
    public async Task Spend_RecordsOfSeveralTenants_RowsByCostWithTheTotalOfEveryKey()
    {
        // A store that keeps records whole, answering Spend with the interface's default.
        var store = new ListStore();
        await using var app = await TestApp.StartAsync(configure: b => b.Services.AddSingleton<ILlmHistoryStore>(store));
        var now = DateTimeOffset.UtcNow;
        Add(app, 0, now, tenant: "acme", user: "ann", model: "gpt-4o", cost: 0.30m);
        Add(app, 1, now, tenant: "acme", user: "bob", model: "gpt-4o-mini", cost: 0.10m);
        Add(app, 2, now, tenant: "globex", user: "cy", model: "gpt-4o", cost: 0.25m);
        Add(app, 3, now, tenant: null, user: null, model: "mystery", cost: null);
        Add(app, 4, now.AddHours(-2), tenant: "initech", user: "dee", model: "gpt-4o", cost: 5m);

        var spend = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/spend?window=1h");
        Assert.Equal("tenant", spend.GetProperty("by").GetString());
        Assert.Equal("1h", spend.GetProperty("window").GetString());
        Assert.Equal(TimeSpan.FromHours(1), spend.GetProperty("to").GetDateTimeOffset() - spend.GetProperty("from").GetDateTimeOffset());
        Assert.Equal(0.65m, spend.GetProperty("totalCostUsd").GetDecimal());
        var rows = spend.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(["acme", "globex", null], rows.Select(r => r.GetProperty("key").GetString()));
        Assert.Equal(2, rows[0].GetProperty("requests").GetInt64());
        Assert.Equal(0.40m, rows[0].GetProperty("costUsd").GetDecimal());
        Assert.Equal(20, rows[0].GetProperty("inputTokens").GetInt64());
        Assert.Equal(6, rows[0].GetProperty("outputTokens").GetInt64());
        Assert.Equal(1, rows[2].GetProperty("unpricedRequests").GetInt64());

        // The default window is 24 h: the request two hours old counts.
        var day = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/spend?by=model");
        Assert.Equal("24h", day.GetProperty("window").GetString());
        Assert.Equal(["gpt-4o", "gpt-4o-mini", "mystery"], day.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("key").GetString()));
        Assert.Equal(5.65m, day.GetProperty("totalCostUsd").GetDecimal());

        // A limit shortens the rows, not the total; filters narrow both.
        var top = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/spend?window=1h&by=user&limit=1");
        Assert.Equal("ann", Assert.Single(top.GetProperty("rows").EnumerateArray()).GetProperty("key").GetString());
        Assert.Equal(0.65m, top.GetProperty("totalCostUsd").GetDecimal());

        var acme = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/spend?window=1h&by=user&tenant=acme&model=gpt-4o-mini");
        Assert.Equal("bob", Assert.Single(acme.GetProperty("rows").EnumerateArray()).GetProperty("key").GetString());
        Assert.Equal(0.10m, acme.GetProperty("totalCostUsd").GetDecimal());

        var route = await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/spend?window=1h&by=route&user=cy");
        Assert.Equal("/api/chat", Assert.Single(route.GetProperty("rows").EnumerateArray()).GetProperty("key").GetString());
    }

    [Theory]
    [InlineData("window=2h", "'window'")]
    [InlineData("by=team", "'by'")]
    [InlineData("limit=0", "'limit'")]
    [InlineData("limit=501", "'limit'")]
    [InlineData("limit=ten", "'limit'")]
    [InlineData("limit=-1", "'limit'")]
    public async Task Spend_BadParameter_Answers400ProblemWithTheRequestId(string query, string named)
    {
        await using var app = await TestApp.StartAsync();

        using var response = await app.Client.GetAsync("/llm-apm/api/spend?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(named, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));
    }

    [Fact]
    public async Task Spend_TooLongFilter_Answers400()
    {
        await using var app = await TestApp.StartAsync();

        using var response = await app.Client.GetAsync("/llm-apm/api/spend?tenant=" + new string('t', 2000));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Spend_StoreUnavailable_Answers503AndTheNextPollAsksAgain()
    {
        var store = new SpendStore { Fail = true };
        await using var app = await TestApp.StartAsync(configure: b => b.Services.AddSingleton<ILlmHistoryStore>(store));

        using (var failed = await app.Client.GetAsync("/llm-apm/api/spend"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            var problem = await failed.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("the store cannot read", problem.GetProperty("detail").GetString());
        }

        store.Fail = false;
        using var worked = await app.Client.GetAsync("/llm-apm/api/spend");
        Assert.Equal(HttpStatusCode.OK, worked.StatusCode);
        Assert.Equal(2, store.Calls);
    }

    [Fact]
    public async Task Spend_PollsWithinTwoSeconds_ShareOneStoreCallWhateverTheirLimit()
    {
        var store = new SpendStore();
        var time = new ManualTime(DateTimeOffset.UtcNow);
        await using var app = await TestApp.StartAsync(configure: b =>
        {
            b.Services.AddSingleton<ILlmHistoryStore>(store);
            b.Services.AddSingleton<TimeProvider>(time);
        });

        var polls = await Task.WhenAll(Enumerable.Range(1, 6).Select(i => app.Client.GetFromJsonAsync<JsonElement>($"/llm-apm/api/spend?window=7d&limit={i}")));

        Assert.Equal(1, store.Calls);
        Assert.Equal(LlmSpendQuery.MaxLimit, store.Last!.Limit);
        Assert.Equal(LlmSpendDimension.Tenant, store.Last.By);
        Assert.Equal(TimeSpan.FromDays(7), store.Last.To - store.Last.From);
        Assert.Equal([1, 2, 3, 3, 3, 3], polls.Select(p => p.GetProperty("rows").GetArrayLength()));
        Assert.All(polls, p => Assert.Equal(6m, p.GetProperty("totalCostUsd").GetDecimal()));

        // Another dimension or filter is another question.
        await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/spend?window=7d&by=user&tenant=a");
        Assert.Equal(2, store.Calls);
        Assert.Equal(LlmSpendDimension.User, store.Last.By);
        Assert.Equal("a", store.Last.TenantId);

        // Two seconds later the same question is asked again.
        time.Now += TimeSpan.FromSeconds(2);
        await app.Client.GetFromJsonAsync<JsonElement>("/llm-apm/api/spend?window=7d&limit=1");
        Assert.Equal(3, store.Calls);
    }

    [Fact]
    public async Task Spend_RealRequestsOfTwoTenantsOverLoopback_EachTenantHasItsCostAndTokens()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddLlmApm();
        builder.Services.AddLlmApmEndpoints();
        builder.Services.AddSingleton<ILlmHistoryStore>(new ListStore());
        await using var app = builder.Build();
        app.MapPost("/api/chat", async (HttpContext context, IServiceProvider services) =>
        {
            // The host's own attribution: what LlmApm:Attribution does from a header, done by hand.
            LlmRequest.Current!.TenantId = context.Request.Headers["X-Tenant-Id"].ToString();
            using var client = new ChatClientBuilder(new FakeChatClient()).UseLlmApm().Build(services);
            return (await client.GetResponseAsync("hello")).Text;
        }).WithLlmApm();
        app.MapLlmApm();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        foreach (var tenant in new[] { "acme", "acme", "globex" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat");
            request.Headers.Add("X-Tenant-Id", tenant);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
        }

        var history = app.Services.GetRequiredService<LlmApmInstrumentation>().History;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (history.Query(new LlmHistoryQuery { Limit = 10, Route = "/api/chat" }).Count(r => r.TenantId is not null) < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var spend = await http.GetFromJsonAsync<JsonElement>("/llm-apm/api/spend?window=1h&by=tenant");
        var rows = spend.GetProperty("rows").EnumerateArray().Where(r => r.GetProperty("key").GetString() is "acme" or "globex").ToList();
        Assert.Equal(["acme", "globex"], rows.Select(r => r.GetProperty("key").GetString()));
        Assert.Equal([2L, 1L], rows.Select(r => r.GetProperty("requests").GetInt64()));
        Assert.Equal([20L, 10L], rows.Select(r => r.GetProperty("inputTokens").GetInt64()));
        Assert.All(rows, r => Assert.True(r.GetProperty("costUsd").GetDecimal() > 0));
        Assert.Equal(rows[0].GetProperty("costUsd").GetDecimal(), 2 * rows[1].GetProperty("costUsd").GetDecimal());
        await app.StopAsync();
    }

    private static void Add(TestApp app, int i, DateTimeOffset start, string? tenant, string? user, string model, decimal? cost)
        => app.Instrumentation.History.Add(new LlmRequestRecord
        {
            Id = $"{i:x32}",
            TraceId = $"{i:x32}",
            StartTime = start.AddSeconds(-i),
            DurationMs = 100,
            Route = "/api/chat",
            Model = model,
            Status = "ok",
            TenantId = tenant,
            UserId = user,
            Usage = new LlmUsage(10, 3),
            CostUsd = cost,
            Unpriced = cost is null,
        });

    /// <summary>Keeps every record as it is given, with the interface's defaults for the aggregates and the spend.</summary>
    private sealed class ListStore : ILlmHistoryStore
    {
        private readonly List<LlmRequestRecord> records = [];

        public long Add(LlmRequestRecord record)
        {
            lock (this.records)
            {
                var seq = this.records.Count + 1L;
                this.records.Add(record.WithSeq(seq));
                return seq;
            }
        }

        public LlmRequestRecord? Find(string id)
        {
            lock (this.records)
            {
                return this.records.Find(r => r.Id == id);
            }
        }

        public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query)
        {
            lock (this.records)
            {
                return [.. Enumerable.Reverse(this.records).Where(query.Matches).Take(query.Limit)];
            }
        }

        public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from)
        {
            lock (this.records)
            {
                return [.. this.records.Where(r => r.StartTime >= from).OrderBy(r => r.StartTime)];
            }
        }
    }

    /// <summary>A store that answers every spend question with three rows, counting the questions.</summary>
    private sealed class SpendStore : ILlmHistoryStore
    {
        public int Calls;

        public bool Fail { get; set; }

        public LlmSpendQuery? Last { get; private set; }

        public long Add(LlmRequestRecord record) => 0;

        public LlmRequestRecord? Find(string id) => null;

        public IReadOnlyList<LlmRequestRecord> Query(LlmHistoryQuery query) => [];

        public IReadOnlyList<LlmRequestRecord> Since(DateTimeOffset from) => throw new InvalidOperationException("the API must ask the store's Spend");

        public IReadOnlyList<LlmHistoryCell> Aggregate(LlmHistoryAggregateQuery query) => [];

        public IReadOnlyList<LlmSpendRow> Spend(LlmSpendQuery query)
        {
            Interlocked.Increment(ref this.Calls);
            this.Last = query;
            return this.Fail
                ? throw new LlmHistoryUnavailableException("the store cannot read")
                : [new("a", 3, 3m, 30, 9, 0), new("b", 2, 2m, 20, 6, 0), new(null, 1, 1m, 10, 3, 1)];
        }
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override DateTimeOffset GetUtcNow() => this.Now;

        public override long GetTimestamp() => this.Now.UtcTicks;
    }
}
