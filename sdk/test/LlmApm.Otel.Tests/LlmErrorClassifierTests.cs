using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OpenAI;
using OpenAI.Chat;

namespace LlmApm.Otel.Tests;

public class LlmErrorClassifierTests
{
    public static TheoryData<HttpStatusCode, string, string> ProviderResponses => new()
    {
        { HttpStatusCode.Unauthorized, """{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"}}""", LlmErrorTypes.Authentication },
        { HttpStatusCode.Forbidden, """{"error":{"message":"Forbidden","type":"invalid_request_error","code":null}}""", LlmErrorTypes.Authentication },
        { HttpStatusCode.RequestTimeout, """{"error":{"message":"Request timed out.","type":"timeout","code":null}}""", LlmErrorTypes.Timeout },
        { HttpStatusCode.TooManyRequests, """{"error":{"message":"Rate limit reached.","type":"requests","code":"rate_limit_exceeded"}}""", LlmErrorTypes.RateLimited },
        { HttpStatusCode.BadRequest, """{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}""", LlmErrorTypes.ContextLengthExceeded },
        { HttpStatusCode.BadRequest, """{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}""", LlmErrorTypes.ContentFiltered },
        { HttpStatusCode.BadRequest, """{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","code":"invalid_value"}}""", LlmErrorTypes.InvalidRequest },
        { HttpStatusCode.InternalServerError, """{"error":{"message":"The server had an error.","type":"server_error","code":null}}""", LlmErrorTypes.ProviderUnavailable },
        { HttpStatusCode.ServiceUnavailable, """{"error":{"message":"Overloaded.","type":"server_error","code":null}}""", LlmErrorTypes.ProviderUnavailable },
    };

    [Theory]
    [MemberData(nameof(ProviderResponses))]
    public async Task Classify_ClientResultExceptionFromTheRealOpenAIClient_MapsStatusAndCode(HttpStatusCode status, string body, string expected)
    {
        var client = CreateClient(_ => new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
        var exception = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(expected, new LlmErrorClassifier().Classify(exception));
    }

    [Fact]
    public async Task Classify_ConnectionRefusedThroughTheRealClient_IsNetwork()
    {
        var client = CreateClient(_ => throw new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused)));
        var exception = await Assert.ThrowsAnyAsync<Exception>(() => client.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(LlmErrorTypes.Network, new LlmErrorClassifier().Classify(exception));
    }

    [Fact]
    public async Task Classify_ClientNetworkTimeout_IsTimeout()
    {
        var client = CreateClient(
            _ => throw new InvalidOperationException("unreachable"),
            delay: TimeSpan.FromSeconds(30),
            networkTimeout: TimeSpan.FromMilliseconds(100));
        var exception = await Assert.ThrowsAnyAsync<Exception>(() => client.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(LlmErrorTypes.Timeout, new LlmErrorClassifier().Classify(exception));
    }

    [Fact]
    public void Classify_DotNetExceptions_MapToTheClosedSet()
    {
        var classifier = new LlmErrorClassifier();
        Assert.Equal(LlmErrorTypes.Timeout, classifier.Classify(new TimeoutException()));
        Assert.Equal(LlmErrorTypes.Timeout, classifier.Classify(new TaskCanceledException("HttpClient.Timeout", new TimeoutException())));
        Assert.Equal(LlmErrorTypes.RateLimited, classifier.Classify(new HttpRequestException("429", null, HttpStatusCode.TooManyRequests)));
        Assert.Equal(LlmErrorTypes.ProviderUnavailable, classifier.Classify(new HttpRequestException("502", null, HttpStatusCode.BadGateway)));
        Assert.Equal(LlmErrorTypes.Network, classifier.Classify(new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.Equal(LlmErrorTypes.Other, classifier.Classify(new InvalidOperationException()));
    }

    [Fact]
    public void Classify_Cancellation_IsCancelledOnlyWhenTheCallerAskedForIt()
    {
        var classifier = new LlmErrorClassifier();
        using var caller = new CancellationTokenSource();
        caller.Cancel();
        Assert.Equal(LlmErrorTypes.Cancelled, classifier.Classify(new OperationCanceledException(caller.Token), caller.Token));

        using var inner = new CancellationTokenSource();
        inner.Cancel();
        using var notCancelled = new CancellationTokenSource();
        Assert.Equal(LlmErrorTypes.Timeout, classifier.Classify(new OperationCanceledException(inner.Token), notCancelled.Token));
    }

    [Fact]
    public void Classify_CustomClassifier_IsAskedFirstAndBounded()
    {
        var classifier = new LlmErrorClassifier(
        [
            ex => ex is ArgumentException ? "validation" : null,
            ex => ex is FormatException ? "has spaces!" : null,
            ex => ex is KeyNotFoundException kn ? kn.Message : null,
            _ => throw new InvalidOperationException("a broken classifier is ignored"),
        ]);

        Assert.Equal("validation", classifier.Classify(new ArgumentException()));
        Assert.Equal(LlmErrorTypes.Other, classifier.Classify(new FormatException()));
        Assert.Equal(LlmErrorTypes.Timeout, classifier.Classify(new TimeoutException()));

        // Only 32 distinct custom types are kept: free text cannot explode the error_type tag.
        var types = Enumerable.Range(0, 100).Select(i => classifier.Classify(new KeyNotFoundException($"type{i}"))).ToList();
        Assert.Equal(31, types.Distinct().Count(t => t != LlmErrorTypes.Other));
        Assert.Equal(LlmErrorTypes.Other, types[^1]);
    }

    private static ChatClient CreateClient(Func<HttpRequestMessage, HttpResponseMessage> respond, TimeSpan? delay = null, TimeSpan? networkTimeout = null)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri("http://127.0.0.1:1/v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(new FakeHandler(respond, delay))),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        if (networkTimeout is { } timeout)
        {
            options.NetworkTimeout = timeout;
        }

        return new ChatClient("gpt-4o-mini", new ApiKeyCredential("sk-test"), options);
    }

    private sealed class FakeHandler(Func<HttpRequestMessage, HttpResponseMessage> respond, TimeSpan? delay) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (delay is { } d)
            {
                await Task.Delay(d, cancellationToken);
            }

            return respond(request);
        }
    }
}
