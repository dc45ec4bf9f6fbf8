using LlmApm.Otel.History;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel.Tests;

/// <summary>Who a request is for: the bounds of user, tenant and properties, and where they go (spans, the history,
/// the bounded <c>tenant</c> metric tag; never a user in a metric).</summary>
[Collection(ProcessWideTelemetry.Name)]
public class LlmAttributionTests
{
    public static TheoryData<string> InvalidIds => ["", new string('u', 129), "alice\nbob", "tab\there", "del\u007f"];

    [Theory]
    [MemberData(nameof(InvalidIds))]
    public void UserIdAndTenantId_InvalidValue_ThrowArgumentException_AndKeepTheOldValue(string value)
    {
        using var host = TestHost.Start();
        using var request = host.Instrumentation.StartRequest("attr");
        request.UserId = "alice";
        request.TenantId = "acme";

        Assert.Equal("UserId", Assert.Throws<ArgumentException>(() => request.UserId = value).ParamName);
        Assert.Equal("TenantId", Assert.Throws<ArgumentException>(() => request.TenantId = value).ParamName);
        Assert.Equal("alice", request.UserId);
        Assert.Equal("acme", request.TenantId);
    }

    [Fact]
    public void UserIdAndTenantId_LongestAllowedAndNull_AreAccepted()
    {
        using var host = TestHost.Start();
        using var request = host.Instrumentation.StartRequest("attr");
        var longest = new string('u', 128);
        request.UserId = longest;
        request.TenantId = "Ünïcödé tenant";
        Assert.Equal(longest, request.UserId);
        request.UserId = null;
        Assert.Null(request.UserId);
    }

    [Theory]
    [InlineData("", "v")]
    [InlineData("has space", "v")]
    [InlineData("ключ", "v")]
    [InlineData("k", "line\nbreak")]
    public void SetProperty_InvalidKeyOrValue_ThrowsArgumentException(string key, string value)
    {
        using var host = TestHost.Start();
        using var request = host.Instrumentation.StartRequest("attr");
        Assert.Throws<ArgumentException>(() => request.SetProperty(key, value));
        Assert.Empty(request.Properties);
    }

    [Fact]
    public void SetProperty_TooLongKeyOrValue_Throws_AndTheSeventeenthPropertyIsRefused()
    {
        using var host = TestHost.Start();
        using var request = host.Instrumentation.StartRequest("attr");
        Assert.Throws<ArgumentException>(() => request.SetProperty(new string('k', 65), "v"));
        Assert.Throws<ArgumentException>(() => request.SetProperty("k", new string('v', 257)));
        request.SetProperty(new string('k', 64), new string('v', 256));

        for (var i = 1; i < 16; i++)
        {
            request.SetProperty($"p{i}", "x");
        }

        Assert.Throws<InvalidOperationException>(() => request.SetProperty("p16", "x"));
        request.SetProperty("p1", "changed"); // an existing key can still change
        request.SetProperty("p2", null); // and be removed, which makes room
        request.SetProperty("p16", "x");
        Assert.Equal(16, request.Properties.Count);
        Assert.Equal("changed", request.Properties["p1"]);
        Assert.False(request.Properties.ContainsKey("p2"));
    }

    [Fact]
    public async Task Request_WithUserTenantAndProperties_ReachesSpanAndHistoryRecord()
    {
        using var host = TestHost.Start();
        var client = new FakeChatClient().AsBuilder().UseLlmApm().Build(host.Services);
        string id;
        using (var request = host.Instrumentation.StartRequest("/api/attr"))
        {
            id = request.Id;
            request.UserId = "user-42";
            request.TenantId = "acme";
            request.SetProperty("plan", "pro");
            request.SetProperty("experiment", "b");
            request.SetProperty("experiment", null);
            await client.GetResponseAsync("hi");
        }

        host.Flush();
        var span = Assert.Single(host.Exported, a => a.DisplayName == "llm.request /api/attr");
        Assert.Equal("user-42", span.GetTagItem("user.id"));
        Assert.Equal("acme", span.GetTagItem("llm.tenant.id"));
        Assert.Equal("pro", span.GetTagItem("llm.property.plan"));
        Assert.Null(span.GetTagItem("llm.property.experiment"));

        var record = Assert.Single(host.History.Query(new LlmHistoryQuery { UserId = "user-42" }));
        Assert.Equal(id, record.Id);
        Assert.Equal("acme", record.TenantId);
        Assert.Equal(new Dictionary<string, string> { ["plan"] = "pro" }, record.Properties);
        Assert.Equal(id, Assert.Single(host.History.Query(new LlmHistoryQuery { TenantId = "acme", PropertyKey = "plan", PropertyValue = "pro" })).Id);
        Assert.Empty(host.History.Query(new LlmHistoryQuery { TenantId = "acme", PropertyKey = "plan", PropertyValue = "free" }));
    }

    [Fact]
    public async Task Metrics_CarryTheTenantSetBeforeTheCall_AndNeverTheUser()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start(o => o.Tenants.Add("declared-co"));
        var client = new FakeChatClient().AsBuilder().UseLlmApm().Build(host.Services);
        using (var request = host.Instrumentation.StartRequest("/api/tenant-tag"))
        {
            request.TenantId = "declared-co";
            request.UserId = "user-secret";
            await client.GetResponseAsync("hi");
        }

        // The tag is read when a metric is recorded: a tenant set after the call is on the request's metrics only.
        using (var late = host.Instrumentation.StartRequest("/api/tenant-tag"))
        {
            await client.GetResponseAsync("hi");
            late.TenantId = "late-co";
        }

        var route = ("route", "/api/tenant-tag");
        Assert.Equal(1, metrics.Sum("llm.requests", route, ("tenant", "declared-co")));
        Assert.Equal(1, metrics.Of("llm.request.latency").Count(m => m.Tag("route") == "/api/tenant-tag" && m.Tag("tenant") == "declared-co"));
        Assert.Equal(15, metrics.Sum("llm.tokens", route, ("tenant", "declared-co")));
        Assert.True(metrics.Sum("llm.cost.usd", route, ("tenant", "declared-co")) > 0);

        Assert.Equal(1, metrics.Sum("llm.requests", route, ("tenant", "late-co")));
        Assert.Equal(15, metrics.Sum("llm.tokens", route, ("tenant", "none")));
        Assert.True(metrics.Sum("llm.cost.usd", route, ("tenant", "none")) > 0);

        Assert.DoesNotContain(metrics.Measurements, m => m.Tags.ContainsValue("user-secret") || m.Tags.ContainsKey("user.id"));
    }
}
