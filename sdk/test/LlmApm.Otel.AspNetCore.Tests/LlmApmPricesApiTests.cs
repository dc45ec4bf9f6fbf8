using System.Net;
using System.Text.Json;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary><c>GET api/prices</c>: the entries in force from the shipped catalogue, a price file named in
/// configuration and configured prices, and the price file's state there and in <c>api/info</c>.</summary>
public sealed class LlmApmPricesApiTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("llmapm-prices-api-").FullName;

    public void Dispose() => Directory.Delete(this.directory, recursive: true);

    [Fact]
    public async Task GetPrices_CatalogueFileAndConfiguration_EntriesWithRatesTiersSourceDateAndFileState()
    {
        var path = Path.Combine(this.directory, "prices.json");
        await File.WriteAllTextAsync(path, """
            { "schemaVersion": 2, "prices": [
              { "provider": "fake", "model": "house-model", "kind": "chat", "input": 1.5, "cachedInput": 0.15, "cacheWrite": 1.875, "output": 6,
                "tiers": [ { "aboveInputTokens": 128000, "input": 3, "output": 12 } ], "source": "https://prices.example.test", "date": "2026-11-01" } ] }
            """);
        await using var app = await TestApp.StartAsync(configure: b =>
        {
            b.Configuration["LlmApm:PriceFile"] = path;
            b.Configuration["LlmApm:Prices:house-config:InputPerMillion"] = "0.5";
            b.Configuration["LlmApm:Prices:house-config:OutputPerMillion"] = "1";
        });

        using (var prices = await GetJsonAsync(app, "/llm-apm/api/prices"))
        {
            var root = prices.RootElement;
            Assert.Equal("2025-11", root.GetProperty("updated").GetString());
            var file = root.GetProperty("file");
            Assert.Equal((path, JsonValueKind.Null, 1), (file.GetProperty("path").GetString(), file.GetProperty("error").ValueKind, file.GetProperty("entries").GetInt32()));
            Assert.Equal(JsonValueKind.String, file.GetProperty("loadedAt").ValueKind);

            var entries = root.GetProperty("entries").EnumerateArray().ToDictionary(e => e.GetProperty("id").GetString()!);
            var house = entries["fake/house-model@2026-11-01"];
            Assert.Equal(("fake", "house-model", "chat", "file"), (house.GetProperty("provider").GetString(), house.GetProperty("model").GetString(), house.GetProperty("kind").GetString(), house.GetProperty("origin").GetString()));
            Assert.Equal((1.5m, 0.15m, 1.875m, 6m), (house.GetProperty("inputPerMillion").GetDecimal(), house.GetProperty("cachedInputPerMillion").GetDecimal(), house.GetProperty("cacheWritePerMillion").GetDecimal(), house.GetProperty("outputPerMillion").GetDecimal()));
            Assert.Equal(("https://prices.example.test", "2026-11-01"), (house.GetProperty("source").GetString(), house.GetProperty("date").GetString()));
            var tier = Assert.Single(house.GetProperty("tiers").EnumerateArray());
            Assert.Equal(("fake/house-model@2026-11-01#>128k", 128000L, 3m, JsonValueKind.Null), (tier.GetProperty("id").GetString(), tier.GetProperty("aboveInputTokens").GetInt64(), tier.GetProperty("inputPerMillion").GetDecimal(), tier.GetProperty("cachedInputPerMillion").ValueKind));

            var configured = entries["house-config@config"];
            Assert.Equal(("config", JsonValueKind.Null), (configured.GetProperty("origin").GetString(), configured.GetProperty("provider").ValueKind));

            var gemini = entries["gcp.gemini/gemini-2.5-pro@2025-07"];
            Assert.Equal("gcp.gemini/gemini-2.5-pro@2025-07#>200k", Assert.Single(gemini.GetProperty("tiers").EnumerateArray()).GetProperty("id").GetString());
            Assert.StartsWith("https://", gemini.GetProperty("source").GetString(), StringComparison.Ordinal);
            Assert.Contains(entries.Values, e => e.GetProperty("provider").GetString() == "anthropic" && e.GetProperty("cacheWritePerMillion").ValueKind == JsonValueKind.Number);
        }

        // A broken file: the last good prices stay, api/info and api/prices say why.
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        app.Instrumentation.PriceCatalog.Reloaded += s =>
        {
            if (s.Error is not null)
            {
                failed.TrySetResult();
            }
        };
        await File.WriteAllTextAsync(path, "{ \"prices\": [ { \"model\": ");
        await failed.Task.WaitAsync(TimeSpan.FromSeconds(20));

        using (var info = await GetJsonAsync(app, "/llm-apm/api/info"))
        {
            var file = info.RootElement.GetProperty("priceFile");
            Assert.Contains("not valid JSON", file.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Equal(JsonValueKind.String, file.GetProperty("failedAt").ValueKind);
            Assert.Equal(JsonValueKind.String, file.GetProperty("loadedAt").ValueKind);
        }

        using (var prices = await GetJsonAsync(app, "/llm-apm/api/prices"))
        {
            Assert.Contains(prices.RootElement.GetProperty("entries").EnumerateArray(), e => e.GetProperty("id").GetString() == "fake/house-model@2026-11-01");
        }
    }

    [Fact]
    public async Task GetInfo_NoPriceFile_PriceFileNull()
    {
        await using var app = await TestApp.StartAsync();
        using var info = await GetJsonAsync(app, "/llm-apm/api/info");
        Assert.Equal(JsonValueKind.Null, info.RootElement.GetProperty("priceFile").ValueKind);
        using var prices = await GetJsonAsync(app, "/llm-apm/api/prices");
        Assert.Equal(JsonValueKind.Null, prices.RootElement.GetProperty("file").ValueKind);
        Assert.True(prices.RootElement.GetProperty("entries").GetArrayLength() > 50);
    }

    private static async Task<JsonDocument> GetJsonAsync(TestApp app, string path)
    {
        using var response = await app.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
