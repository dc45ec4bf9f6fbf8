using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>The OpenAPI document is the contract the dashboard is held to: its committed copy
/// (<c>dashboard/src/api/openapi.json</c>, which the dashboard's contract test reads) must equal the live one.</summary>
public sealed class LlmApmOpenApiTests
{
    /// <summary>Set to <c>1</c> to write the live document over the committed copy instead of comparing.</summary>
    private const string UpdateVariable = "LLMAPM_UPDATE_OPENAPI";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    [Fact]
    public async Task Document_EqualsTheDashboardsCommittedCopy()
    {
        await using var app = await TestApp.StartAsync();
        using var response = await app.Client.GetAsync("/llm-apm/api/openapi.json");
        response.EnsureSuccessStatusCode();
        var live = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var path = CommittedPath();

        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            await File.WriteAllTextAsync(path, live.ToJsonString(Indented) + "\n");
        }

        Assert.True(File.Exists(path), $"{path} is missing: run this test with {UpdateVariable}=1 to write it.");
        var committed = JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        Assert.True(
            JsonNode.DeepEquals(WithoutVersion(live), WithoutVersion(committed)),
            $"The history API's OpenAPI document changed: run this test with {UpdateVariable}=1 to update {path}, then "
            + "make dashboard/src/api/wireTypes.ts match it (npm test in dashboard/ checks it).");
    }

    [Fact]
    public async Task Document_DescribesTheRequestRecordByItsWireModel()
    {
        await using var app = await TestApp.StartAsync();
        using var response = await app.Client.GetAsync("/llm-apm/api/openapi.json");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var schemas = json.RootElement.GetProperty("components").GetProperty("schemas");

        var record = schemas.GetProperty("LlmApmWireRequest").GetProperty("properties");
        Assert.Equal(
            ["id", "seq", "traceId", "spanId", "startTime", "durationMs", "route", "model", "provider", "conversationId", "replica", "status",
                "errorType", "errorMessage", "tokens", "costUsd", "unpriced", "steps", "droppedSteps", "content", "scores", "userId", "tenantId", "properties"],
            record.EnumerateObject().Select(p => p.Name));
        Assert.False(schemas.TryGetProperty("LlmRequestRecord", out _), "the public record is not a wire type");
    }

    /// <summary>The package version is no part of the contract: a release does not change the dashboard's types.</summary>
    private static JsonNode WithoutVersion(JsonNode document)
    {
        var copy = document.DeepClone();
        copy["info"]!.AsObject().Remove("version");
        return copy;
    }

    private static string CommittedPath()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "LlmApm.Otel.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        return Path.Combine(directory.FullName, "dashboard", "src", "api", "openapi.json");
    }
}
