using Microsoft.Extensions.Options;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>Checks <see cref="LlmApmAttributionOptions"/> at start-up; each failure names the configuration key to fix.</summary>
internal sealed class LlmApmAttributionOptionsValidator : IValidateOptions<LlmApmAttributionOptions>
{
    private const string Section = LlmApmAttributionOptions.ConfigurationSection;

    public ValidateOptionsResult Validate(string? name, LlmApmAttributionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        Header(failures, nameof(LlmApmAttributionOptions.UserHeader), options.UserHeader);
        Header(failures, nameof(LlmApmAttributionOptions.TenantHeader), options.TenantHeader);
        Claim(failures, nameof(LlmApmAttributionOptions.UserClaim), options.UserClaim);
        Claim(failures, nameof(LlmApmAttributionOptions.TenantClaim), options.TenantClaim);
        if (options.PropertyHeaders.Count > LlmAttribution.MaxProperties)
        {
            failures.Add($"{Section}:{nameof(LlmApmAttributionOptions.PropertyHeaders)} has {options.PropertyHeaders.Count} headers; a request has at most {LlmAttribution.MaxProperties} properties.");
        }

        foreach (var (header, key) in options.PropertyHeaders)
        {
            var option = $"{nameof(LlmApmAttributionOptions.PropertyHeaders)}:{header}";
            Header(failures, option, header);
            if (key is null || !LlmAttribution.IsValidKey(key))
            {
                failures.Add($"{Section}:{option} must be a property key of 1 to {LlmAttribution.MaxKeyLength} letters, digits, '_', '-' or '.' (is '{key}').");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Header(List<string> failures, string option, string? header)
    {
        // An HTTP field name is a token (RFC 9110): visible ASCII without separators.
        if (header is not null && (header.Length == 0 || !header.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal))))
        {
            failures.Add($"{Section}:{option} must be a header name such as X-User-Id (is '{header}').");
        }
    }

    private static void Claim(List<string> failures, string option, string? claim)
    {
        if (claim is not null && string.IsNullOrWhiteSpace(claim))
        {
            failures.Add($"{Section}:{option} must be a claim type, not blank (leave it unset for the default).");
        }
    }
}
