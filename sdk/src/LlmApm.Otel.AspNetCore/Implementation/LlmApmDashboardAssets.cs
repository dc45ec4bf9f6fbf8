using System.Collections.Frozen;
using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>
/// The dashboard's files, embedded in this assembly under <see cref="ResourcePrefix"/> by the project's
/// <c>LlmApmDashboardEmbed</c> target, and the handler that serves them under the prefix. Only files of that
/// embedded set are ever served: a request path is a key into it, never a file-system path.
/// </summary>
internal sealed class LlmApmDashboardAssets
{
    public const string ResourcePrefix = "LlmApm.Dashboard/";
    public const string IndexPath = "index.html";

    private const string ImmutableCacheControl = "public, max-age=31536000, immutable";
    private const string NoCache = "no-cache";

    private static readonly Lazy<LlmApmDashboardAssets> Embedded = new(() => Load(typeof(LlmApmDashboardAssets).Assembly));

    private readonly FrozenDictionary<string, Asset> assets;

    private LlmApmDashboardAssets(FrozenDictionary<string, Asset> assets)
    {
        this.assets = assets;
        this.IsPlaceholder = assets.TryGetValue(IndexPath, out var index)
            && Encoding.UTF8.GetString(index.Content).Contains("dashboard was not built", StringComparison.Ordinal);
    }

    public static LlmApmDashboardAssets Instance => Embedded.Value;

    public bool IsPlaceholder { get; }

    public IEnumerable<string> Paths => this.assets.Keys;

    public static LlmApmDashboardAssets Load(Assembly assembly)
    {
        var types = new FileExtensionContentTypeProvider();
        var files = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var path = name[ResourcePrefix.Length..].Replace('\\', '/');
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            if (!types.TryGetContentType(path, out var contentType))
            {
                contentType = "application/octet-stream";
            }

            if (contentType.StartsWith("text/", StringComparison.Ordinal) && !contentType.Contains("charset", StringComparison.Ordinal))
            {
                contentType += "; charset=utf-8";
            }

            files[path] = new Asset(content, contentType, ETagOf(content));
        }

        return new LlmApmDashboardAssets(files.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>Serves <paramref name="path"/> (the catch-all route value under the prefix).</summary>
    public Task ServeAsync(HttpContext context, string? path)
    {
        path ??= string.Empty;
        var request = context.Request;

        if (path.Length == 0)
        {
            // "{prefix}" → "{prefix}/", so that the dashboard's relative URLs resolve under the prefix. The query
            // is dropped: it may carry the access key (?key=), which must not come back in a Location header.
            if (!(request.Path.Value ?? string.Empty).EndsWith('/'))
            {
                context.Response.Headers.CacheControl = NoCache;
                context.Response.Redirect(request.PathBase.Add(request.Path).Value + "/");
                return Task.CompletedTask;
            }

            return this.ServeIndexAsync(context);
        }

        if (!IsSafe(path) || !IsSafe(request.Path.Value))
        {
            return NotFoundAsync(context);
        }

        if (this.assets.TryGetValue(path, out var asset) && !string.Equals(path, IndexPath, StringComparison.Ordinal))
        {
            var immutable = path.StartsWith("assets/", StringComparison.Ordinal);
            return ServeAsync(context, asset, immutable ? ImmutableCacheControl : NoCache);
        }

        // An unknown file (a path under assets/ or with an extension in its last segment) is a 404; any other path
        // is a route of the single-page dashboard and gets index.html.
        var lastSegment = path[(path.LastIndexOf('/') + 1)..];
        if (path.StartsWith("assets/", StringComparison.Ordinal) || (lastSegment.Contains('.', StringComparison.Ordinal) && !string.Equals(path, IndexPath, StringComparison.Ordinal)))
        {
            return NotFoundAsync(context);
        }

        return this.ServeIndexAsync(context);
    }

    internal static bool IsSafe(string? path)
    {
        if (path is null)
        {
            return true;
        }

        if (path.Contains("..", StringComparison.Ordinal)
            || path.Contains('\\', StringComparison.Ordinal)
            || path.Contains('%', StringComparison.Ordinal)
            || path.Contains(':', StringComparison.Ordinal)
            || path.Contains("//", StringComparison.Ordinal)
            || path.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment.StartsWith('.'))
            {
                return false;
            }
        }

        return true;
    }

    private static Task NotFoundAsync(HttpContext context)
        => LlmApmProblems.NotFound(context, "No such file in the dashboard.").ExecuteAsync(context);

    private static string ETagOf(byte[] content)
        => "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 12)) + "\"";

    private static Task ServeAsync(HttpContext context, Asset asset, string cacheControl)
    {
        var response = context.Response;
        response.Headers.CacheControl = cacheControl;
        response.Headers.ETag = asset.ETag;

        var ifNoneMatch = context.Request.Headers.IfNoneMatch;
        if (ifNoneMatch.Count > 0 && EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags)
            && tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || string.Equals(t.Tag.Value, asset.ETag, StringComparison.Ordinal)))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        return HttpMethods.IsHead(context.Request.Method)
            ? Task.CompletedTask
            : response.Body.WriteAsync(asset.Content, context.RequestAborted).AsTask();
    }

    private Task ServeIndexAsync(HttpContext context)
    {
        if (!this.assets.TryGetValue(IndexPath, out var index))
        {
            return NotFoundAsync(context);
        }

        if (this.IsPlaceholder)
        {
            LlmApmAspNetCoreEventSource.Log.DashboardPlaceholderServed();
        }

        // A <base> element pointing at the prefix lets the relative asset URLs of the built dashboard resolve from
        // any route of the single-page app (for example {prefix}/requests/abc), not only from {prefix}/.
        var request = context.Request;
        var prefixPath = request.PathBase.Add(request.Path).Value ?? "/";
        var routeValue = request.RouteValues["path"] as string ?? string.Empty;
        var basePath = prefixPath.EndsWith(routeValue, StringComparison.Ordinal)
            ? prefixPath[..(prefixPath.Length - routeValue.Length)]
            : prefixPath;
        if (!basePath.EndsWith('/'))
        {
            basePath += "/";
        }

        return ServeAsync(context, WithBase(index, basePath), NoCache);
    }

    private static Asset WithBase(Asset index, string basePath)
    {
        var html = Encoding.UTF8.GetString(index.Content);
        var head = html.IndexOf("<head>", StringComparison.OrdinalIgnoreCase);
        if (head < 0 || html.Contains("<base ", StringComparison.OrdinalIgnoreCase))
        {
            return index;
        }

        var insertAt = head + "<head>".Length;
        var content = Encoding.UTF8.GetBytes(string.Concat(
            html.AsSpan(0, insertAt),
            "<base href=\"" + WebUtility.HtmlEncode(basePath) + "\">",
            html.AsSpan(insertAt)));
        return new Asset(content, index.ContentType, ETagOf(content));
    }

    private sealed record Asset(byte[] Content, string ContentType, string ETag);
}
