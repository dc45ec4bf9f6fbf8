using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Who an LLM endpoint's request is for, read from the HTTP request as <see cref="LlmApmAttributionOptions"/>
/// say: the authenticated user's claims first, then the headers. Read before the LLM request starts, so that a header
/// that cannot be an id is refused before anything is recorded under it.</summary>
internal sealed class LlmEndpointAttribution
{
    private const string SubjectClaim = "sub";

    private string? userId;
    private string? tenantId;
    private List<KeyValuePair<string, string>>? properties;

    /// <summary>Reads the attribution of <paramref name="context"/>.</summary>
    /// <param name="context">The HTTP request.</param>
    /// <param name="options">Where user, tenant and properties come from.</param>
    /// <param name="attribution">What was found, or <c>null</c> when nothing was.</param>
    /// <param name="problem">When the answer is <c>false</c>: which header is wrong and why, for a 400.</param>
    /// <returns><c>false</c> when a configured header has a value that cannot be an id or a property.</returns>
    public static bool TryRead(HttpContext context, LlmApmAttributionOptions options, out LlmEndpointAttribution? attribution, out string? problem)
    {
        attribution = null;
        problem = null;
        var user = context.User;
        var authenticated = user.Identity?.IsAuthenticated == true;

        var userId = authenticated ? ClaimValue(user, options.UserClaim, defaultClaims: true) : null;
        if (userId is null && options.UserHeader is { } userHeader)
        {
            if (!TryHeader(context, userHeader, LlmAttribution.IsValidId, out userId))
            {
                problem = IdProblem(userHeader, "user");
                return false;
            }
        }

        var tenantId = authenticated && options.TenantClaim is not null ? ClaimValue(user, options.TenantClaim, defaultClaims: false) : null;
        if (tenantId is null && options.TenantHeader is { } tenantHeader)
        {
            if (!TryHeader(context, tenantHeader, LlmAttribution.IsValidId, out tenantId))
            {
                problem = IdProblem(tenantHeader, "tenant");
                return false;
            }
        }

        List<KeyValuePair<string, string>>? properties = null;
        foreach (var (header, key) in options.PropertyHeaders)
        {
            if (!TryHeader(context, header, LlmAttribution.IsValidValue, out var value))
            {
                problem = $"The '{header}' header must have one value of at most {LlmAttribution.MaxValueLength} characters without control characters.";
                return false;
            }

            if (value is not null)
            {
                (properties ??= []).Add(new(key, value));
            }
        }

        if (userId is not null || tenantId is not null || properties is not null)
        {
            attribution = new LlmEndpointAttribution { userId = userId, tenantId = tenantId, properties = properties };
        }

        return true;
    }

    /// <summary>Sets what was read on the LLM request.</summary>
    public void ApplyTo(LlmRequest request)
    {
        if (this.userId is not null)
        {
            request.UserId = this.userId;
        }

        if (this.tenantId is not null)
        {
            request.TenantId = this.tenantId;
        }

        foreach (var (key, value) in this.properties ?? [])
        {
            request.SetProperty(key, value);
        }
    }

    /// <summary>The value of the claim, or <c>null</c>. A claim that cannot be an id is left out (and said in the event
    /// log, without its value): the identity provider made it, not the client, so the request still runs.</summary>
    private static string? ClaimValue(ClaimsPrincipal user, string? claim, bool defaultClaims)
    {
        var value = claim is not null
            ? user.FindFirst(claim)?.Value
            : defaultClaims ? (user.FindFirst(SubjectClaim) ?? user.FindFirst(ClaimTypes.NameIdentifier))?.Value : null;
        if (value is null || LlmAttribution.IsValidId(value))
        {
            return value;
        }

        LlmApmAspNetCoreEventSource.Log.AttributionClaimIgnored(claim ?? SubjectClaim);
        return null;
    }

    /// <summary>The header's one value, <c>null</c> when it is absent or empty; <c>false</c> when it has several values or
    /// one that <paramref name="isValid"/> refuses.</summary>
    private static bool TryHeader(HttpContext context, string header, Func<string, bool> isValid, out string? value)
    {
        value = null;
        if (!context.Request.Headers.TryGetValue(header, out StringValues values) || StringValues.IsNullOrEmpty(values))
        {
            return true;
        }

        if (values.Count > 1)
        {
            return false;
        }

        var single = values[0];
        if (string.IsNullOrEmpty(single))
        {
            return true;
        }

        if (!isValid(single))
        {
            return false;
        }

        value = single;
        return true;
    }

    private static string IdProblem(string header, string what)
        => $"The '{header}' header must have one value: a {what} id of 1 to {LlmAttribution.MaxIdLength} characters without control characters.";
}
