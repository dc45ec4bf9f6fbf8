using System.Net;
using System.Net.Http.Headers;
using LlmApm.Otel.AspNetCore.Implementation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>The dashboard's static files under the prefix (a known test set embedded in this assembly).</summary>
public class LlmApmDashboardAssetsTests
{
    private const string Script = "/llm-apm/assets/app-Ab12Cd34.js";
    private const string Style = "/llm-apm/assets/app-Ef56Gh78.css";

    [Fact]
    public void Instance_PackageAssembly_EmbedsAnIndexPage()
    {
        var assets = LlmApmDashboardAssets.Instance;

        Assert.Contains("index.html", assets.Paths);
        Assert.All(assets.Paths, p => Assert.True(LlmApmDashboardAssets.IsSafe(p), p));
        if (!assets.IsPlaceholder)
        {
            Assert.Contains(assets.Paths, p => p.StartsWith("assets/", StringComparison.Ordinal) && p.EndsWith(".js", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("/llm-apm", "/llm-apm/")]
    [InlineData("/llm-apm?key=abc", "/llm-apm/")]
    [InlineData("/llm-apm?key=abc&x=1", "/llm-apm/")]
    public async Task Prefix_WithoutSlash_RedirectsToTheSlash(string path, string location)
    {
        await using var app = await StartAsync();

        using var response = await app.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(location, response.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("/llm-apm/")]
    [InlineData("/llm-apm/index.html")]
    [InlineData("/llm-apm/requests")]
    [InlineData("/llm-apm/requests/0123abcd")]
    public async Task IndexAndAppRoutes_ServeIndexHtmlWithNoCacheAndBase(string path)
    {
        await using var app = await StartAsync();

        using var response = await app.Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("TEST-DASHBOARD-INDEX", body, StringComparison.Ordinal);
        Assert.Contains("<base href=\"/llm-apm/\">", body, StringComparison.Ordinal);
        Assert.True(response.Headers.CacheControl?.NoCache);
        AssertSecurityHeaders(response);
    }

    [Theory]
    [InlineData(Script, "text/javascript", "TEST-DASHBOARD-SCRIPT")]
    [InlineData(Style, "text/css", "color: black")]
    public async Task HashedAsset_ServedWithItsContentTypeAndImmutableCaching(string path, string mediaType, string content)
    {
        await using var app = await StartAsync();

        using var response = await app.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(content, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("public, max-age=31536000, immutable", string.Join(", ", response.Headers.GetValues("Cache-Control")));
        Assert.NotNull(response.Headers.ETag);
        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task NonHashedFile_ServedWithNoCache()
    {
        await using var app = await StartAsync();

        using var response = await app.Client.GetAsync("/llm-apm/favicon.svg");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache);
    }

    [Fact]
    public async Task Asset_MatchingETag_Returns304()
    {
        await using var app = await StartAsync();
        using var first = await app.Client.GetAsync(Script);

        using var request = new HttpRequestMessage(HttpMethod.Get, Script);
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var second = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
        Assert.Empty(await second.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Head_ReturnsHeadersWithoutBody()
    {
        await using var app = await StartAsync();

        using var response = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, Script));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("/llm-apm/assets/missing-0000.js")]
    [InlineData("/llm-apm/nothing.png")]
    [InlineData("/llm-apm/assets/")]
    public async Task UnknownFile_Returns404NotIndex(string path)
    {
        await using var app = await StartAsync();

        using var response = await app.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        AssertSecurityHeaders(response);
    }

    [Theory]
    [InlineData("/llm-apm/../appsettings.json")]
    [InlineData("/llm-apm/assets/../../appsettings.json")]
    [InlineData("/llm-apm/assets/../index.html")]
    [InlineData("/llm-apm/..")]
    [InlineData("/llm-apm/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/llm-apm/assets/%2e%2e%2findex.html")]
    [InlineData("/llm-apm/..%2f..%2fappsettings.json")]
    [InlineData("/llm-apm/assets\\..\\index.html")]
    [InlineData("/llm-apm/..\\..\\appsettings.json")]
    [InlineData("/llm-apm//etc/passwd")]
    [InlineData("/llm-apm/.env")]
    [InlineData("/llm-apm/C:/Windows/win.ini")]
    [InlineData("/llm-apm/../requests")]
    [InlineData("/llm-apm/requests/../../home")]
    [InlineData("/llm-apm/requests\\..\\home")]
    [InlineData("/llm-apm/.git/config")]
    public async Task TraversalAttempt_Returns404(string rawPath)
    {
        await using var app = await StartAsync();

        // Sent as-is (HttpClient would normalise the dot segments away before they reach the server).
        var context = await app.Server.SendAsync(c =>
        {
            c.Request.Method = HttpMethods.Get;
            c.Request.Path = new PathString(rawPath);
            c.Request.Headers[TestApp.RemoteIpHeader] = "127.0.0.1";
        });

        Assert.Equal(StatusCodes.Status404NotFound, context.Response.StatusCode);
        using var reader = new StreamReader(context.Response.Body);
        Assert.DoesNotContain("TEST-DASHBOARD", await reader.ReadToEndAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/llm-apm/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/llm-apm/assets/..%2f..%2fappsettings.json")]
    [InlineData("/llm-apm/%5c..%5cindex.html")]
    [InlineData("/llm-apm/requests/%2e%2e%2f%2e%2e%2fhome")]
    public async Task EncodedTraversalThroughHttpClient_Returns404(string path)
    {
        await using var app = await StartAsync();

        using var response = await app.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("TEST-DASHBOARD", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/llm-apm/api/info")]
    [InlineData("/llm-apm/api/requests?limit=-1")]
    [InlineData("/llm-apm/api/openapi.json")]
    public async Task ApiResponses_CarryTheSecurityHeadersToo(string path)
    {
        await using var app = await StartAsync();

        using var response = await app.Client.GetAsync(path);

        AssertSecurityHeaders(response);
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.Equal(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'",
            response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
    }

    private static Task<TestApp> StartAsync()
        => TestApp.StartAsync(configure: b => b.Services.AddSingleton(LlmApmDashboardAssets.Load(typeof(LlmApmDashboardAssetsTests).Assembly)));
}
