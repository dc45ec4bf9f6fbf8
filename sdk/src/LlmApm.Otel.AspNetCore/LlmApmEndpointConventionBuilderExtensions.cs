using LlmApm.Otel.AspNetCore.Implementation;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// Marks endpoints as LLM endpoints.
/// </summary>
public static class LlmApmEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Marks the endpoints of <paramref name="builder"/> as LLM endpoints: each request to one of them is an LLM
    /// request (<c>LlmApmInstrumentation.StartRequest(route)</c>, with the route template as route) that lasts for
    /// the whole request, the execution of the endpoint's result and a streamed response included. An exception
    /// marks the request failed and is rethrown; a client that aborts the request records <c>cancelled</c>; a
    /// <c>5xx</c> response without a recorded error records <c>_OTHER</c>. The request's user, tenant and properties
    /// come from the authenticated user's claims and the headers that <c>LlmApmAttributionOptions</c> name; a header
    /// value that cannot be one is answered <c>400</c> problem details before the endpoint runs. The request span, steps, and the
    /// <c>llm.requests</c>, <c>llm.request.latency</c> and <c>llm.requests.active</c> instruments come from the SDK.
    /// Works on single endpoints and route groups, and on any builder that applies "finally" conventions (such as
    /// controller actions).
    /// </summary>
    /// <typeparam name="TBuilder">The type of the endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint convention builder, for example what <c>MapPost</c> or <c>MapGroup</c>
    /// returns.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static TBuilder WithLlmApm<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        // The request delegate is final only in a "finally" convention: for route handlers it is then the
        // compiled handler that also executes the returned IResult, so the wrapper covers a streamed result.
        builder.Finally(LlmEndpointRequestDelegate.Wrap);
        return builder;
    }
}
