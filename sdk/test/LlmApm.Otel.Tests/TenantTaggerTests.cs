namespace LlmApm.Otel.Tests;

public class TenantTaggerTests
{
    [Fact]
    public void Tag_NoTenant_IsNone()
        => Assert.Equal("none", new TenantTagger([]).Tag(null));

    [Fact]
    public void Tag_DeclaredTenants_KeepTheirIdAfterTheSeenOnesAreUsedUp()
    {
        var tagger = new TenantTagger(["acme", "globex"]);
        for (var i = 0; i < TenantTagger.MaxSeenTenants + 5; i++)
        {
            tagger.Tag($"t{i}");
        }

        Assert.Equal("acme", tagger.Tag("acme"));
        Assert.Equal("globex", tagger.Tag("globex"));
        Assert.Equal("other", tagger.Tag("initech"));
    }

    [Fact]
    public void Tag_FirstSeenTenants_KeepTheirId_LaterOnesAreOther()
    {
        var tagger = new TenantTagger([]);
        var tags = Enumerable.Range(0, TenantTagger.MaxSeenTenants + 3).Select(i => tagger.Tag($"t{i}")).ToList();

        Assert.Equal(Enumerable.Range(0, TenantTagger.MaxSeenTenants).Select(i => $"t{i}"), tags.Take(TenantTagger.MaxSeenTenants));
        Assert.All(tags.Skip(TenantTagger.MaxSeenTenants), t => Assert.Equal("other", t));
        Assert.Equal("t0", tagger.Tag("t0")); // a kept tenant stays kept
        Assert.Equal("other", tagger.Tag("T0")); // ids are exact, as in spans and the history
    }

    [Fact]
    public async Task Tag_ManyThreadsManyTenants_KeepsAtMostTheBound()
    {
        var tagger = new TenantTagger([]);
        var tags = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => Task.Run(() => tagger.Tag($"t{i % 200}"))));

        var kept = tags.Where(t => t != "other").Distinct().ToList();
        Assert.InRange(kept.Count, 1, TenantTagger.MaxSeenTenants);
        Assert.All(kept, t => Assert.Equal(t, tagger.Tag(t))); // what was kept stays kept
        Assert.InRange(Enumerable.Range(0, 200).Select(i => tagger.Tag($"t{i}")).Where(t => t != "other").Count(), 1, TenantTagger.MaxSeenTenants);
    }
}
