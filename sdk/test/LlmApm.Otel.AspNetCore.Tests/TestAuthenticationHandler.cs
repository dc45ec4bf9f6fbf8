using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>Authenticates a request that carries <c>X-Test-User</c> (the user's name and <c>sub</c> claims), with the
/// <c>tenant</c> claim of <c>X-Test-Tenant</c> when it is there; nothing else.</summary>
internal sealed class TestAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Test";
    public const string UserHeader = "X-Test-User";
    public const string TenantHeader = "X-Test-Tenant";
    public const string TenantClaim = "tenant";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var user = this.Request.Headers[UserHeader].ToString();
        if (user.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        List<Claim> claims = [new Claim(ClaimTypes.Name, user), new Claim("sub", user)];
        var tenant = this.Request.Headers[TenantHeader].ToString();
        if (tenant.Length > 0)
        {
            claims.Add(new Claim(TenantClaim, tenant));
        }

        var identity = new ClaimsIdentity(claims, SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
