using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChatService.Configuration;
using ChatService.Conversations;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using static ChatService.Tests.Infrastructure.ChatServiceHost;

namespace ChatService.Tests;

public sealed class ConversationStoreTests
{
    [Fact]
    public void GetOrCreate_BeyondCapacity_EvictsTheLeastRecentlyUsed()
    {
        var options = new ChatServiceOptions { MaxConversations = 2 };
        var store = new ConversationStore(Options.Create(options));
        var a = store.GetOrCreate(null);
        var b = store.GetOrCreate(null);

        Assert.Same(a, store.GetOrCreate(a.Id)); // a is now the most recently used
        var c = store.GetOrCreate(null);

        Assert.Equal(2, store.Count);
        Assert.True(store.Contains(a.Id));
        Assert.False(store.Contains(b.Id));
        Assert.True(store.Contains(c.Id));
        Assert.NotEqual(b.Id, store.GetOrCreate(b.Id).Id); // an evicted id starts a new conversation
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789ABCDEF", true)]
    [InlineData("01234567-89ab-cdef-0123-456789abcdef", true)]
    [InlineData("not-an-id", false)]
    [InlineData("0123456789abcdef", false)]
    public void TryNormalizeId_ClientIds_AcceptsHexAndGuidOnly(string value, bool valid)
    {
        Assert.Equal(valid, ConversationStore.TryNormalizeId(value, out var id));
        if (valid)
        {
            Assert.Matches("^[0-9a-f]{32}$", id);
        }
    }

    [Fact]
    public void Append_BeyondTheBudget_DropsTheOldestMessages()
    {
        var conversation = new Conversation("c");
        for (var i = 0; i < 10; i++)
        {
            conversation.Append(new ConversationMessage(ChatRole.User, $"q{i}", 10), new ConversationMessage(ChatRole.Assistant, $"a{i}", 10), maxTokens: 50);
        }

        var messages = conversation.Snapshot();
        Assert.Equal(["q8", "a8", "q9", "a9"], messages.Select(m => m.Text).TakeLast(4));
        Assert.True(messages.Sum(m => m.Tokens) <= 50);
    }

    [Fact]
    public async Task PostChat_WithConversationId_SendsTheHistoryToTheProvider()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        await using var host = new ChatServiceHost(LlmChatClientFactoryTests.ProviderSettings(fake, "OpenAI"));
        using var client = host.CreateClient();

        using var first = await host.PostChatAsync(client, new { message = "My name is Ada." });
        var firstReply = await first.Content.ReadFromJsonAsync<JsonElement>();
        var id = firstReply.GetProperty("conversationId").GetString();
        using var second = await host.PostChatAsync(client, new { message = "What is my name?", conversationId = id });
        var secondReply = await second.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(id, secondReply.GetProperty("conversationId").GetString());
        var messages = fake.Received.Last().Json["messages"]!.AsArray();
        Assert.Equal(["system", "user", "assistant", "user"], messages.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal("My name is Ada.", messages[1]!["content"]!.ToString());
        Assert.Equal(FakeOpenAiServer.Reply, messages[2]!["content"]!.ToString());
        Assert.Equal("What is my name?", messages[3]!["content"]!.ToString());

        var record = await host.GetRecordAsync(client, secondReply.GetProperty("requestId").GetString()!);
        Assert.Equal(id, record.GetProperty("conversationId").GetString());
    }

    [Fact]
    public async Task PostChat_UnknownConversationId_StartsANewConversation()
    {
        await using var host = new ChatServiceHost();
        using var client = host.CreateClient();
        var unknown = Guid.NewGuid().ToString("N");

        using var response = await host.PostChatAsync(client, new { message = "hi", conversationId = unknown });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reply = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.NotEqual(unknown, reply.GetProperty("conversationId").GetString());
    }

    [Fact]
    public async Task PostChat_LongConversation_FitsThePromptToTheContextWindow()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        var settings = LlmChatClientFactoryTests.ProviderSettings(fake, "OpenAI");
        settings["Llm:MaxOutputTokens"] = "64";
        settings["Llm:ContextWindowTokens"] = "300";
        await using var host = new ChatServiceHost(settings);
        using var client = host.CreateClient();

        string? id = null;
        for (var i = 0; i < 8; i++)
        {
            var message = $"Message {i}: " + string.Join(' ', Enumerable.Repeat("tokens", 30));
            using var response = await host.PostChatAsync(client, new { message, conversationId = id });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("conversationId").GetString();
        }

        var contents = fake.Received.Last().Json["messages"]!.AsArray().Select(m => m!["content"]!.ToString()).ToList();
        Assert.Equal("Be brief.", contents[0]);
        Assert.StartsWith("Message 7:", contents[^1], StringComparison.Ordinal);
        Assert.Contains(contents, c => c.StartsWith("Message 6:", StringComparison.Ordinal));
        Assert.DoesNotContain(contents, c => c.StartsWith("Message 0:", StringComparison.Ordinal));

        // A message that alone does not fit is refused before any call.
        var before = fake.Received.Count;
        using var tooLong = await host.PostChatAsync(client, new { message = string.Join(' ', Enumerable.Repeat("tokens", 400)), conversationId = id });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLong.StatusCode);
        var problem = await tooLong.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("context_length_exceeded", problem.GetProperty("errorType").GetString());
        Assert.Equal(before, fake.Received.Count);
    }
}
