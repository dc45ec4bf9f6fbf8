using System.Reflection;
using LlmApm.Otel;

namespace ChatService.Llm;

/// <summary>
/// Clears the failure of a request whose failed LLM call was retried with success. A stop-gap: LlmApm.Otel marks the
/// request failed as soon as a step fails and has no public way yet to take that back; this sets its private error
/// fields to <c>null</c> (and does nothing when they are not found). Replace with <c>LlmRequest.Recover()</c> once the
/// SDK has it — <c>TransientRetryChatClient</c> is the only caller, and
/// <c>ProviderFaultTests.Chat_RateLimitedThenOk_RetriesWithTwoAttemptSpans</c> checks the outcome.
/// </summary>
internal static class LlmRequestRecovery
{
    private static readonly FieldInfo? ErrorType = typeof(LlmRequest).GetField("errorType", BindingFlags.Instance | BindingFlags.NonPublic);
    private static readonly FieldInfo? ErrorMessage = typeof(LlmRequest).GetField("errorMessage", BindingFlags.Instance | BindingFlags.NonPublic);

    public static void Clear(LlmRequest request)
    {
        if (request.IsFinished || ErrorType is null || ErrorMessage is null)
        {
            return;
        }

        ErrorType.SetValue(request, null);
        ErrorMessage.SetValue(request, null);
    }
}
