using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>The OpenAPI document <c>llm-apm</c> of the history API, served at <c>{prefix}/api/openapi.json</c>.</summary>
internal static class LlmApmOpenApi
{
    /// <summary>The document name, also the endpoints' group name: the host's own documents leave them out.</summary>
    public const string DocumentName = "llm-apm";

    /// <summary>The route of the document under the API group. <c>MapOpenApi</c> takes the document name from the
    /// <c>documentName</c> route value: an optional parameter whose default is our document gives it a fixed path
    /// (<see cref="OnlyThisDocument"/> refuses any other name; no regex constraint, which slim hosts lack).</summary>
    public const string Route = "/openapi.json/{documentName=" + DocumentName + "}";

    /// <summary>An endpoint filter that answers 404 for any document but <see cref="DocumentName"/>, so that the
    /// host's own documents are not served under the prefix.</summary>
    public static ValueTask<object?> OnlyThisDocument(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        => string.Equals(context.HttpContext.GetRouteValue("documentName") as string, DocumentName, StringComparison.Ordinal)
            ? next(context)
            : ValueTask.FromResult<object?>(LlmApmProblems.NotFound(context.HttpContext, "No such OpenAPI document."));

    public static void Register(IServiceCollection services)
    {
        // The document's schemas come from the host's HTTP JSON options; without reflection (native AOT) they know
        // our wire models only through our source-generated context. Last in the chain: it never shadows the host's.
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Add(LlmApmAspNetCoreJsonContext.Default));
        services.AddOpenApi(DocumentName, options =>
        {
            options.ShouldInclude = description => string.Equals(description.GroupName, DocumentName, StringComparison.Ordinal);
            options.AddDocumentTransformer((document, context, cancellationToken) =>
            {
                document.Info.Title = "LLM-APM history API";
                document.Info.Description = "Request history, summaries, time series and the live stream of finished LLM requests (docs/api.md).";
                document.Info.Version = typeof(LlmApmInstrumentation).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
                return Task.CompletedTask;
            });
            options.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<LlmApmScoresApi.LlmApmRequestBody>().FirstOrDefault() is { } body)
                {
                    var schema = await context.GetOrCreateSchemaAsync(body.Type, parameterDescription: null, cancellationToken).ConfigureAwait(false);
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
                    };
                }
            });
        });
    }
}
