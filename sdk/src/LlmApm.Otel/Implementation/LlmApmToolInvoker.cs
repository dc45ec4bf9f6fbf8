using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace LlmApm.Otel;

/// <summary>
/// The tool spans of a <see cref="FunctionInvokingChatClient"/> that sits inside <c>UseLlmApm()</c>: that client asks
/// the client below it for an <see cref="ActivitySource"/> and so never finds LLM-APM's, so <see cref="LlmApmChatClient"/>
/// wraps its <see cref="FunctionInvokingChatClient.FunctionInvoker"/> with this one, which makes the conventions'
/// <c>execute_tool {name}</c> span around each invocation on LLM-APM's source.
/// </summary>
internal sealed class LlmApmToolInvoker
{
    private readonly Func<FunctionInvocationContext, CancellationToken, ValueTask<object?>>? inner;
    private readonly LlmApmInstrumentation? configured;

    private LlmApmToolInvoker(Func<FunctionInvocationContext, CancellationToken, ValueTask<object?>>? inner, LlmApmInstrumentation? configured)
    {
        this.inner = inner;
        this.configured = configured;
    }

    /// <summary>Wraps the invoker of <paramref name="client"/>, once however many LLM-APM clients sit above it.</summary>
    public static void Attach(FunctionInvokingChatClient client, LlmApmInstrumentation? configured)
    {
        if (client.FunctionInvoker?.Target is LlmApmToolInvoker)
        {
            return;
        }

        client.FunctionInvoker = new LlmApmToolInvoker(client.FunctionInvoker, configured).InvokeAsync;
    }

    /// <summary>Starts the span of a tool invocation with the conventions' attributes, as Microsoft.Extensions.AI names them.</summary>
    internal static Activity? StartSpan(string toolName, string? callId, string? description)
        => LlmApmInstruments.Source.StartActivity(
            string.Concat(GenAiConventions.ExecuteToolOperation, " ", toolName),
            ActivityKind.Internal,
            parentContext: default,
            tags:
            [
                new(GenAiConventions.OperationName, GenAiConventions.ExecuteToolOperation),
                new(GenAiConventions.ToolType, GenAiConventions.ToolTypeFunction),
                new(GenAiConventions.ToolCallId, callId),
                new(GenAiConventions.ToolName, toolName),
                new(GenAiConventions.ToolDescription, description),
            ]);

    /// <summary>The arguments or result of a tool as JSON, redacted, for the span when content capture is on.</summary>
    internal static string CaptureJson(LlmApmInstrumentation instrumentation, object? value, JsonSerializerOptions options)
    {
        string json;
        try
        {
            json = value is null ? "null" : JsonSerializer.Serialize(value, options.GetTypeInfo(value.GetType()));
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or JsonException)
        {
            json = value?.ToString() ?? "null";
        }

        return instrumentation.Redact(json);
    }

    private async ValueTask<object?> InvokeAsync(FunctionInvocationContext context, CancellationToken cancellationToken)
    {
        var instrumentation = LlmRequest.Current?.Instrumentation ?? this.configured;
        using var activity = instrumentation is { Enabled: true }
            ? StartSpan(context.Function.Name, context.CallContent.CallId, context.Function.Description)
            : null;
        var capture = activity is { IsAllDataRequested: true } && instrumentation!.Options.CaptureMessageContent;
        if (capture)
        {
            activity!.SetTag(GenAiConventions.ToolCallArguments, CaptureJson(instrumentation!, context.Arguments, context.Function.JsonSerializerOptions));
        }

        try
        {
            var result = this.inner is null
                ? await context.Function.InvokeAsync(context.Arguments, cancellationToken).ConfigureAwait(false)
                : await this.inner(context, cancellationToken).ConfigureAwait(false);
            if (capture)
            {
                activity!.SetTag(GenAiConventions.ToolCallResult, CaptureJson(instrumentation!, result, context.Function.JsonSerializerOptions));
            }

            return result;
        }
        catch (Exception ex) when (activity is not null)
        {
            // Classified, as LLM-APM's other spans are; the tool's failure is the model's to handle, not the request's.
            activity.SetTag(GenAiConventions.ErrorType, instrumentation!.ClassifyError(ex, cancellationToken));
            activity.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }
}
