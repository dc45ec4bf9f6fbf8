using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LlmApm.Otel.History;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>Who the request of a <c>WithLlmApm()</c> endpoint is for, from <c>LlmApm:Attribution</c>: the claim first,
/// then the header; a header that cannot be an id is answered 400 and nothing is recorded.</summary>
[Collection(ProcessWideTelemetry.Name)]
public class LlmEndpointAttributionTests
{
    private static readonly Dictionary<string, string?> HeaderSettings = new()
    {
        ["LlmApm:Attribution:UserHeader"] = "X-User-Id",
        ["LlmApm:Attribution:TenantHeader"] = "X-Tenant-Id",
        ["LlmApm:Attribution:PropertyHeaders:X-Experiment"] = "experiment",
        ["LlmApm:Attribution:PropertyHeaders:X-Plan"] = "plan",
    };

    [Fact]
    public async Task Headers_SetUserTenantAndProperties_OnSpanRecordAndTheTenantMetricTag()
    {
        await using var app = await StartAsync(HeaderSettings);

        using (var response = await app.Client.SendAsync(Post(("X-User-Id", "user-1"), ("X-Tenant-Id", "acme-attr"), ("X-Experiment", "b"))))
        {
            response.EnsureSuccessStatusCode();
            Assert.Equal("user-1|acme-attr", await response.Content.ReadAsStringAsync()); // the handler sees them too
        }

        var record = Assert.Single(await app.WaitForHistoryAsync(1));
        Assert.Equal("user-1", record.UserId);
        Assert.Equal("acme-attr", record.TenantId);
        Assert.Equal(new Dictionary<string, string> { ["experiment"] = "b" }, record.Properties);

        var span = Assert.Single(app.RequestSpans());
        Assert.Equal("user-1", span.GetTagItem("user.id"));
        Assert.Equal("acme-attr", span.GetTagItem("llm.tenant.id"));
        Assert.Equal("b", span.GetTagItem("llm.property.experiment"));

        // A real scrape: the tenant is a label of the request series; the user is in no series.
        var metrics = await app.Client.GetStringAsync("/metrics");
        Assert.Equal(1, PrometheusText.Value(metrics, "llm_requests_total", "route=\"/api/attr\"", "tenant=\"acme-attr\""));
        Assert.Equal(1, PrometheusText.Value(metrics, "llm_request_latency_seconds_count", "route=\"/api/attr\"", "tenant=\"acme-attr\""));
        Assert.DoesNotContain("user-1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthenticatedUser_ClaimsWinOverHeaders()
    {
        var settings = new Dictionary<string, string?>(HeaderSettings) { ["LlmApm:Attribution:TenantClaim"] = TestAuthenticationHandler.TenantClaim };
        await using var app = await StartAsync(settings, authenticate: true);

        var request = Post(("X-User-Id", "spoofed"), ("X-Tenant-Id", "spoofed-co"));
        request.Headers.Add(TestAuthenticationHandler.UserHeader, "alice");
        request.Headers.Add(TestAuthenticationHandler.TenantHeader, "claimed-co");
        using (var response = await app.Client.SendAsync(request))
        {
            response.EnsureSuccessStatusCode();
        }

        // Authenticated without a tenant claim: the tenant comes from the header.
        var second = Post(("X-Tenant-Id", "header-co"));
        second.Headers.Add(TestAuthenticationHandler.UserHeader, "bob");
        using (var response = await app.Client.SendAsync(second))
        {
            response.EnsureSuccessStatusCode();
        }

        var records = await app.WaitForHistoryAsync(2);
        Assert.Equal([("bob", "header-co"), ("alice", "claimed-co")], records.Select(r => (r.UserId, r.TenantId)));
    }

    [Fact]
    public async Task NoAttributionConfigured_TheSubClaimIsTheUser_AndHeadersAreIgnored()
    {
        await using var app = await StartAsync([], authenticate: true);
        var request = Post(("X-User-Id", "ignored"), ("X-Tenant-Id", "ignored"));
        request.Headers.Add(TestAuthenticationHandler.UserHeader, "carol");
        using (var response = await app.Client.SendAsync(request))
        {
            response.EnsureSuccessStatusCode();
        }

        var record = Assert.Single(await app.WaitForHistoryAsync(1));
        Assert.Equal("carol", record.UserId);
        Assert.Null(record.TenantId);
        Assert.Empty(record.Properties);
    }

    [Fact]
    public async Task ClaimThatCannotBeAnId_IsLeftOut_AndTheRequestStillRuns()
    {
        await using var app = await StartAsync([], authenticate: true);
        var request = Post();
        request.Headers.Add(TestAuthenticationHandler.UserHeader, new string('c', 129));
        using (var response = await app.Client.SendAsync(request))
        {
            response.EnsureSuccessStatusCode();
        }

        Assert.Null(Assert.Single(await app.WaitForHistoryAsync(1)).UserId);
    }

    public static TheoryData<string, string> BadHeaders => new()
    {
        { "X-User-Id", new string('u', 129) },
        { "X-Tenant-Id", new string('t', 129) },
        { "X-Plan", new string('p', 257) },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public async Task InvalidHeader_Answers400ProblemNamingTheHeader_AndRecordsNothing(string header, string value)
    {
        await using var app = await StartAsync(HeaderSettings);
        using var response = await app.Client.SendAsync(Post((header, value)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains($"'{header}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(value, problem.GetRawText(), StringComparison.Ordinal); // the value is not echoed
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("requestId").GetString()));

        await Task.Delay(100);
        Assert.Empty(app.RequestSpans());
        Assert.Empty(app.Instrumentation.History.Query(new LlmHistoryQuery()));
    }

    [Fact]
    public async Task HeaderWithTwoValues_Answers400()
    {
        await using var app = await StartAsync(HeaderSettings);
        var request = Post();
        request.Headers.Add("X-Tenant-Id", ["a", "b"]);
        using var response = await app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task EmptyHeader_IsNoValue()
    {
        await using var app = await StartAsync(HeaderSettings);
        var request = Post();
        request.Headers.TryAddWithoutValidation("X-User-Id", string.Empty);
        using (var response = await app.Client.SendAsync(request))
        {
            response.EnsureSuccessStatusCode();
        }

        Assert.Null(Assert.Single(await app.WaitForHistoryAsync(1)).UserId);
    }

    [Theory]
    [InlineData("LlmApm:Attribution:UserHeader", "X User", "LlmApm:Attribution:UserHeader")]
    [InlineData("LlmApm:Attribution:TenantHeader", "", "LlmApm:Attribution:TenantHeader")]
    [InlineData("LlmApm:Attribution:PropertyHeaders:X-Plan", "plan key", "LlmApm:Attribution:PropertyHeaders:X-Plan")]
    public async Task InvalidOptions_FailAtStartNamingTheKey(string key, string value, string named)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { [key] = value }));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    private static Task<TestApp> StartAsync(Dictionary<string, string?> settings, bool authenticate = false)
        => TestApp.StartAsync(
            map: a =>
            {
                if (authenticate)
                {
                    a.UseAuthentication();
                }

                a.MapPost("/api/attr", () => $"{LlmRequest.Current!.UserId}|{LlmRequest.Current.TenantId}").WithLlmApm();
            },
            configure: b =>
            {
                b.Configuration.AddInMemoryCollection(settings);
                if (authenticate)
                {
                    b.Services.AddAuthentication(TestAuthenticationHandler.SchemeName)
                        .AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, null);
                }
            });

    private static HttpRequestMessage Post(params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/attr");
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        return request;
    }
}
