using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests;

/// <summary>The service's Program started as a process of its own. Nothing these tests read is in the test process,
/// so the class runs beside the others.</summary>
public sealed class ProgramProcessTests
{
    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    public async Task History_InAFreshProcess_KeepsEveryChat_WithOrWithoutTheAspNetCoreInstrumentation(string aspNetCore)
    {
        // A real process on Kestrel: ASP.NET Core starts an unsampled activity of its own for log correlation when no
        // instrumentation listens, so LLM-APM's spans have an unsampled parent there, and the statics of the SDK are
        // first touched by this host (a test host in a shared test process would hide both).
        var data = TempFolder.Create("fresh-process");
        var settings = new Dictionary<string, string>
        {
            ["ChatService:DataPath"] = data,
            ["ChatService:DurableHistory"] = "false",
            ["ChatService:AspNetCoreInstrumentation"] = aspNetCore,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        try
        {
            using var service = await ChatServiceProcess.StartAsync(settings);
            using var client = service.CreateClient();
            await PostThreeAndCheckTheHistoryAsync(client);
        }
        finally
        {
            TempFolder.Delete(data);
        }
    }

    private static async Task PostThreeAndCheckTheHistoryAsync(HttpClient client)
    {
        for (var i = 0; i < 3; i++)
        {
            using var reply = await client.PostAsJsonAsync(i % 2 == 0 ? "/api/chat" : "/api/chat/stream", new { message = $"hello {i}" });
            Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
            _ = await reply.Content.ReadAsStringAsync();
        }

        await Eventually.TrueAsync(async () =>
        {
            var page = await client.GetFromJsonAsync<JsonElement>("/llm-apm/api/requests?limit=10");
            return page.GetProperty("items").GetArrayLength() == 3;
        });
    }
}
