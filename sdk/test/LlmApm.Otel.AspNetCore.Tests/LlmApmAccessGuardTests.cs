using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>Who gets in under the prefix: loopback by default, the host's policy instead, or the access key.</summary>
[Collection(ProcessWideTelemetry.Name)]
public class LlmApmAccessGuardTests
{
    private const string Key = "s3cret-Key-for-tests";

    [Theory]
    [InlineData("/llm-apm/api/info")]
    [InlineData("/llm-apm/api/requests")]
    [InlineData("/llm-apm/api/stream")]
    [InlineData("/llm-apm/api/openapi.json")]
    [InlineData("/llm-apm/")]
    [InlineData("/llm-apm/assets/app.js")]
    public async Task Default_NonLoopbackClient_Gets403ProblemDetails(string path)
    {
        await using var app = await TestApp.StartAsync();

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var response = await app.Client.SendAsync(TestApp.Get(path, TestApp.NonLoopback), HttpCompletionOption.ResponseHeadersRead, cts.Token);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(403, json.RootElement.GetProperty("status").GetInt32());
        Assert.True(json.RootElement.TryGetProperty("requestId", out _));
        Assert.True(json.RootElement.TryGetProperty("traceId", out _));
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.10.0.3")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("none")] // No address at all (TestServer, Unix socket): the client is in the same machine.
    public async Task Default_LoopbackClient_IsLetIn(string address)
    {
        await using var app = await TestApp.StartAsync();

        using var response = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/info", address));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task RequireAuthorization_ReplacesTheLoopbackCheck()
    {
        await using var app = await TestApp.StartAsync(
            map: a => a.MapLlmApm().RequireAuthorization("dashboard"),
            configure: AddTestAuthentication,
            mapLlmApm: false);

        await AssertHostPolicyDecidesAsync(app);
    }

    [Fact]
    public async Task AuthorizationPolicyOption_ReplacesTheLoopbackCheck()
    {
        await using var app = await TestApp.StartAsync(options: o => o.AuthorizationPolicy = "dashboard", configure: AddTestAuthentication);

        await AssertHostPolicyDecidesAsync(app);
    }

    [Fact]
    public async Task AccessKeyHeader_LetsANonLoopbackClientIn()
    {
        await using var app = await TestApp.StartAsync(configure: b => b.Configuration["LlmApm:Dashboard:AccessKey"] = Key);

        using var request = TestApp.Get("/llm-apm/api/info", TestApp.NonLoopback);
        request.Headers.Add("X-LlmApm-Key", Key);
        using var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Theory]
    [InlineData("wrong")]
    [InlineData("s3cret-Key-for-test")]
    [InlineData("s3cret-Key-for-tests ")]
    [InlineData("")]
    public async Task WrongAccessKey_Gets403(string key)
    {
        await using var app = await TestApp.StartAsync(options: o => o.AccessKey = Key);

        using var byHeader = TestApp.Get("/llm-apm/api/info", TestApp.NonLoopback);
        byHeader.Headers.Add("X-LlmApm-Key", key);
        using var headerResponse = await app.Client.SendAsync(byHeader);
        using var queryResponse = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/info?key=" + Uri.EscapeDataString(key), TestApp.NonLoopback));

        Assert.Equal(HttpStatusCode.Forbidden, headerResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, queryResponse.StatusCode);
        Assert.False(queryResponse.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task AccessKeyQuery_SetsAStrictHttpOnlyCookieThatLetsLaterRequestsIn()
    {
        await using var app = await TestApp.StartAsync(options: o => o.AccessKey = Key);

        using var first = await app.Client.SendAsync(TestApp.Get("/llm-apm/?key=" + Key, TestApp.NonLoopback));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var setCookie = Assert.Single(first.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("LlmApm.Key=", setCookie, StringComparison.Ordinal);
        Assert.Contains("path=/llm-apm", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Key, setCookie, StringComparison.Ordinal);

        var cookie = setCookie.Split(';')[0];
        using var later = TestApp.Get("/llm-apm/api/requests", TestApp.NonLoopback);
        later.Headers.Add("Cookie", cookie);
        using var laterResponse = await app.Client.SendAsync(later);
        Assert.Equal(HttpStatusCode.OK, laterResponse.StatusCode);

        using var forged = TestApp.Get("/llm-apm/api/requests", TestApp.NonLoopback);
        forged.Headers.Add("Cookie", "LlmApm.Key=" + Key);
        using var forgedResponse = await app.Client.SendAsync(forged);
        Assert.Equal(HttpStatusCode.Forbidden, forgedResponse.StatusCode);
    }

    [Fact]
    public async Task Default_CrossOriginRequest_GetsNoCorsHeaders()
    {
        await using var app = await TestApp.StartAsync();

        using var request = TestApp.Get("/llm-apm/api/info");
        request.Headers.Add("Origin", "https://evil.example");
        using var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Metrics_IsNotUnderTheGuard()
    {
        await using var app = await TestApp.StartAsync(options: o => o.AccessKey = Key);

        using var response = await app.Client.SendAsync(TestApp.Get("/metrics", TestApp.NonLoopback));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static void AddTestAuthentication(WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(TestAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder().AddPolicy("dashboard", p => p.RequireAuthenticatedUser());
    }

    private static async Task AssertHostPolicyDecidesAsync(TestApp app)
    {
        // A non-loopback client that the policy accepts is let in...
        using var authenticated = TestApp.Get("/llm-apm/api/info", TestApp.NonLoopback);
        authenticated.Headers.Add(TestAuthenticationHandler.UserHeader, "alice");
        using var allowed = await app.Client.SendAsync(authenticated);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);

        // ...and a loopback client that the policy refuses is not: the loopback check is gone, not added to.
        using var anonymous = await app.Client.SendAsync(TestApp.Get("/llm-apm/api/info", "127.0.0.1"));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }
}
