namespace LlmApm.Otel.AspNetCore;

/// <summary>
/// Who the requests of endpoints marked <c>WithLlmApm()</c> are for: where their user, tenant and custom properties
/// come from (<see cref="LlmRequest.UserId"/>, <see cref="LlmRequest.TenantId"/>, <see cref="LlmRequest.SetProperty"/>).
/// The authenticated user's claim is taken first, then the header. Bound from the <c>LlmApm:Attribution</c>
/// configuration section by <c>services.AddLlmApmEndpoints()</c>. Headers are whatever the client sends: use them only
/// behind a gateway that sets them and removes the client's own.
/// </summary>
public sealed class LlmApmAttributionOptions
{
    /// <summary>The configuration section the options are bound from: <c>LlmApm:Attribution</c>.</summary>
    public const string ConfigurationSection = "LlmApm:Attribution";

    /// <summary>Gets or sets the claim of the authenticated user that is the request's user. Default: <c>null</c>, which
    /// takes the <c>sub</c> claim, else <see cref="System.Security.Claims.ClaimTypes.NameIdentifier"/>.</summary>
    public string? UserClaim { get; set; }

    /// <summary>Gets or sets the request header that names the user when the claim gives none (for example
    /// <c>X-User-Id</c>). Default: <c>null</c> (none).</summary>
    public string? UserHeader { get; set; }

    /// <summary>Gets or sets the claim of the authenticated user that is the request's tenant. Default: <c>null</c>
    /// (none).</summary>
    public string? TenantClaim { get; set; }

    /// <summary>Gets or sets the request header that names the tenant when the claim gives none (for example
    /// <c>X-Tenant-Id</c>). Default: <c>null</c> (none).</summary>
    public string? TenantHeader { get; set; }

    /// <summary>Gets the request headers whose value becomes a custom property: header name to property key (for
    /// example <c>X-Experiment</c> to <c>experiment</c>). At most 16. Default: none.</summary>
    public IDictionary<string, string> PropertyHeaders { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
}
