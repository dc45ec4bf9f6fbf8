using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace LlmApm.Otel;

/// <summary>Bounds the <c>tenant</c> metric tag as models are bounded: declared tenants
/// (<see cref="LlmApmOptions.Tenants"/>) keep their id, so do the first <see cref="MaxSeenTenants"/> others seen, any
/// further one is <c>other</c>, and a request without a tenant is <c>none</c>. Spans and the history keep the real id.</summary>
internal sealed class TenantTagger
{
    internal const int MaxSeenTenants = 32;
    internal const string NoTenant = "none";
    internal const string OtherTenant = "other";

    private readonly FrozenSet<string> declared;
    private readonly ConcurrentDictionary<string, byte> seen = new(StringComparer.Ordinal);
    private int count;

    public TenantTagger(IEnumerable<string> declaredTenants)
    {
        this.declared = declaredTenants.Where(t => !string.IsNullOrEmpty(t)).ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>Returns the metric tag value of <paramref name="tenant"/>.</summary>
    public string Tag(string? tenant)
    {
        if (tenant is null)
        {
            return NoTenant;
        }

        if (this.declared.TryGetValue(tenant, out var declaredId))
        {
            return declaredId;
        }

        if (this.seen.ContainsKey(tenant))
        {
            return tenant;
        }

        // Claim a slot first, so that racing threads never admit more than MaxSeenTenants ids.
        if (Interlocked.Increment(ref this.count) <= MaxSeenTenants)
        {
            if (!this.seen.TryAdd(tenant, 0))
            {
                Interlocked.Decrement(ref this.count); // another thread added the same id
            }

            return tenant;
        }

        Interlocked.Decrement(ref this.count);
        return this.seen.ContainsKey(tenant) ? tenant : OtherTenant;
    }
}
