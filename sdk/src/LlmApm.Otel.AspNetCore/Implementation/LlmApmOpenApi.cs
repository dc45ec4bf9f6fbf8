using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.AspNetCore.Implementation;

/// <summary>The OpenAPI document <c>llm-apm</c> of the history API, served at <c>{prefix}/api/openapi.json</c>.</summary>
internal static class LlmApmOpenApi
{
    /// <summary>The document name, also the endpoints' group name: the host's own documents leave them out.</summary>
    public const string DocumentName = "llm-apm";

    /// <summary>The route of the document under the prefix. <c>MapOpenApi</c> takes the document name from the
    /// <c>documentName</c> route value: a constrained parameter with a default gives it a fixed path.</summary>
    public const string Route = "/api/openapi.json/{documentName:regex(^llm-apm$)=llm-apm}";

    public static void Register(IServiceCollection services)
        => services.AddOpenApi(DocumentName, options =>
        {
            options.ShouldInclude = description => string.Equals(description.GroupName, DocumentName, StringComparison.Ordinal);
            options.AddDocumentTransformer((document, context, cancellationToken) =>
            {
                document.Info.Title = "LLM-APM history API";
                document.Info.Description = "Request history, summaries, time series and the live stream of finished LLM requests (docs/api.md).";
                document.Info.Version = typeof(LlmApmInstrumentation).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
                return Task.CompletedTask;
            });
        });
}
