using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>
/// Applied to every endpoint under the prefix (a group "finally" convention): sets the security headers and,
/// unless the host put its own authorization on the endpoints, lets in loopback clients and clients that present
/// the access key only.
/// </summary>
internal sealed class LlmApmAccessGuard
{
    internal const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'";

    // The cookie does not carry the key itself but a digest of it, so that a leaked cookie does not leak the key.
    private const string CookieTokenContext = "LlmApm.Dashboard.AccessKey.v1:";

    private readonly byte[]? keyDigest;
    private readonly byte[]? cookieTokenDigest;
    private readonly string? cookieToken;
    private readonly string prefix;

    public LlmApmAccessGuard(LlmApmEndpointOptions options, string prefix)
    {
        this.prefix = prefix;
        if (!string.IsNullOrEmpty(options.AccessKey))
        {
            this.keyDigest = Digest(options.AccessKey);
            this.cookieToken = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CookieTokenContext + options.AccessKey)));
            this.cookieTokenDigest = Digest(this.cookieToken);
        }
    }

    public void Apply(EndpointBuilder endpoint)
    {
        var inner = endpoint.RequestDelegate;
        if (inner is null)
        {
            return;
        }

        // RequireAuthorization / AllowAnonymous on the group (or LlmApmEndpointOptions.AuthorizationPolicy):
        // the host decides who gets in, ASP.NET Core authorization enforces it.
        var hostDecides = endpoint.Metadata.Any(m => m is IAuthorizeData or AuthorizationPolicy or IAllowAnonymous);
        endpoint.RequestDelegate = hostDecides
            ? context =>
            {
                SetSecurityHeaders(context.Response);
                return inner(context);
            }
        : context =>
            {
                SetSecurityHeaders(context.Response);
                return this.IsAllowed(context) ? inner(context) : DenyAsync(context);
            };
    }

    internal static bool IsLoopback(IPAddress? address)
    {
        // No address: an in-process server (TestServer) or a Unix socket / named pipe: local by construction.
        if (address is null)
        {
            return true;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return IPAddress.IsLoopback(address);
    }

    internal static void SetSecurityHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
    }

    private static Task DenyAsync(HttpContext context)
        => LlmApmProblems.Create(
            context,
            StatusCodes.Status403Forbidden,
            "Forbidden.",
            "LLM-APM answers loopback clients only. Open it with the host's authorization (RequireAuthorization) or an access key (LlmApm:Dashboard:AccessKey).")
        .ExecuteAsync(context);

    private static byte[] Digest(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));

    private static bool DigestEquals(string? presented, byte[] expected)
        => presented is not null && CryptographicOperations.FixedTimeEquals(Digest(presented), expected);

    private bool IsAllowed(HttpContext context)
    {
        if (IsLoopback(context.Connection.RemoteIpAddress))
        {
            return true;
        }

        if (this.keyDigest is null)
        {
            LlmApmAspNetCoreEventSource.Log.AccessDenied(context.Request.Path.Value ?? string.Empty, "not a loopback client and no access key is configured");
            return false;
        }

        var request = context.Request;
        if (request.Headers.TryGetValue(LlmApmEndpointOptions.AccessKeyHeaderName, out var header) && header.Count == 1)
        {
            if (DigestEquals(header[0], this.keyDigest))
            {
                return true;
            }
        }
        else if (request.Query.TryGetValue(LlmApmEndpointOptions.AccessKeyQueryName, out var query) && query.Count == 1)
        {
            if (DigestEquals(query[0], this.keyDigest))
            {
                this.SetCookie(context);
                return true;
            }
        }
        else if (DigestEquals(request.Cookies[LlmApmEndpointOptions.AccessKeyCookieName], this.cookieTokenDigest!))
        {
            return true;
        }

        LlmApmAspNetCoreEventSource.Log.AccessDenied(context.Request.Path.Value ?? string.Empty, "not a loopback client and no valid access key");
        return false;
    }

    private void SetCookie(HttpContext context)
    {
        context.Response.Cookies.Append(
            LlmApmEndpointOptions.AccessKeyCookieName,
            this.cookieToken!,
            new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Path = context.Request.PathBase.Add(this.prefix).Value,
                IsEssential = true,
            });
    }
}
