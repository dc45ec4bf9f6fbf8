using System.ClientModel;
using System.Net;
using System.Net.Sockets;

namespace LlmApm.Otel;

/// <summary>
/// Classifies exceptions into the closed set of <see cref="LlmErrorTypes"/>. The host's own classifiers
/// (<see cref="LlmApmOptions.ErrorClassifiers"/>) are asked first; the first non-null answer wins.
/// </summary>
internal sealed class LlmErrorClassifier
{
    private const int MaxCustomTypes = 32;
    private const int MaxCustomTypeLength = 64;

    private readonly Func<Exception, string?>[] customClassifiers;
    private readonly HashSet<string> customTypes = new(StringComparer.Ordinal);
    private readonly Lock customTypesLock = new();

    /// <summary>Initializes a new instance of the <see cref="LlmErrorClassifier"/> class.</summary>
    /// <param name="customClassifiers">Classifiers asked before the built-in rules.</param>
    public LlmErrorClassifier(IEnumerable<Func<Exception, string?>>? customClassifiers = null)
    {
        this.customClassifiers = customClassifiers?.ToArray() ?? [];
    }

    /// <summary>
    /// Classifies <paramref name="exception"/>. Never throws.
    /// </summary>
    /// <param name="exception">The failure.</param>
    /// <param name="callerToken">The caller's cancellation token: a cancellation it requested is
    /// <see cref="LlmErrorTypes.Cancelled"/>, any other cancellation is a <see cref="LlmErrorTypes.Timeout"/>.</param>
    /// <returns>One of <see cref="LlmErrorTypes"/>, or a type returned by a custom classifier.</returns>
    public string Classify(Exception exception, CancellationToken callerToken = default)
    {
        ArgumentNullException.ThrowIfNull(exception);
        foreach (var classifier in this.customClassifiers)
        {
            string? custom;
            try
            {
                custom = classifier(exception);
            }
            catch (Exception ex)
            {
                LlmApmEventSource.Log.CallbackFailed("ErrorClassifier", ex);
                continue;
            }

            if (custom is not null)
            {
                return this.AcceptCustom(custom);
            }
        }

        return ClassifyBuiltIn(exception, callerToken);
    }

    /// <summary>Classifies a failure known only by its <c>error.type</c>: a span of another instrumentation (such as
    /// Microsoft.Extensions.AI's tool spans) names the exception's type; a value without a dot is already a class.</summary>
    internal static string ClassifyTypeName(string? errorType) => errorType switch
    {
        null or "" => LlmErrorTypes.Other,
        "System.TimeoutException" => LlmErrorTypes.Timeout,
        "System.OperationCanceledException" or "System.Threading.Tasks.TaskCanceledException" => LlmErrorTypes.Cancelled,
        "System.Net.Http.HttpRequestException" or "System.Net.Sockets.SocketException" or "System.IO.IOException" => LlmErrorTypes.Network,
        "System.ArgumentException" or "System.ArgumentNullException" or "System.ArgumentOutOfRangeException"
            or "System.FormatException" or "System.Text.Json.JsonException" => LlmErrorTypes.InvalidRequest,
        "System.UnauthorizedAccessException" => LlmErrorTypes.Authentication,
        _ when errorType.Contains('.', StringComparison.Ordinal) => LlmErrorTypes.Other,
        _ => errorType,
    };

    internal static string ClassifyBuiltIn(Exception exception, CancellationToken callerToken)
    {
        switch (exception)
        {
            case OperationCanceledException:
                if (callerToken.IsCancellationRequested)
                {
                    return LlmErrorTypes.Cancelled;
                }

                // HttpClient reports its own timeout as a TaskCanceledException wrapping a TimeoutException;
                // any cancellation the caller did not ask for is a timeout of some inner deadline.
                return LlmErrorTypes.Timeout;
            case TimeoutException:
                return LlmErrorTypes.Timeout;
            case LlmBudgetExceededException:
                return LlmErrorTypes.BudgetExceeded;
            case ClientResultException cre:
                return ClassifyStatus(cre.Status, ReadErrorText(cre));
            case HttpRequestException hre:
                if (hre.StatusCode is { } code)
                {
                    return ClassifyStatus((int)code, hre.Message);
                }

                return hre.InnerException is TimeoutException ? LlmErrorTypes.Timeout : LlmErrorTypes.Network;
            case SocketException:
            case IOException when exception.InnerException is SocketException:
                return LlmErrorTypes.Network;
            case AggregateException { InnerExceptions.Count: 1 } ae:
                return ClassifyBuiltIn(ae.InnerExceptions[0], callerToken);
        }

        if (exception.InnerException is { } inner && inner is not null)
        {
            var fromInner = ClassifyBuiltIn(inner, callerToken);
            if (fromInner != LlmErrorTypes.Other)
            {
                return fromInner;
            }
        }

        return LlmErrorTypes.Other;
    }

    internal static string ClassifyStatus(int status, string? errorText)
    {
        if (status == 0)
        {
            // The client got no response at all.
            return LlmErrorTypes.Network;
        }

        if (errorText is not null)
        {
            if (errorText.Contains("context_length_exceeded", StringComparison.OrdinalIgnoreCase)
                || errorText.Contains("maximum context length", StringComparison.OrdinalIgnoreCase))
            {
                return LlmErrorTypes.ContextLengthExceeded;
            }

            if (errorText.Contains("content_filter", StringComparison.OrdinalIgnoreCase)
                || errorText.Contains("content_policy_violation", StringComparison.OrdinalIgnoreCase)
                || errorText.Contains("ResponsibleAIPolicyViolation", StringComparison.OrdinalIgnoreCase))
            {
                return LlmErrorTypes.ContentFiltered;
            }
        }

        return status switch
        {
            (int)HttpStatusCode.Unauthorized or (int)HttpStatusCode.Forbidden => LlmErrorTypes.Authentication,
            (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.GatewayTimeout => LlmErrorTypes.Timeout,
            (int)HttpStatusCode.TooManyRequests => LlmErrorTypes.RateLimited,
            (int)HttpStatusCode.RequestEntityTooLarge => LlmErrorTypes.ContextLengthExceeded,
            >= 500 => LlmErrorTypes.ProviderUnavailable,
            >= 400 => LlmErrorTypes.InvalidRequest,
            _ => LlmErrorTypes.Other,
        };
    }

    private static string? ReadErrorText(ClientResultException exception)
    {
        try
        {
            var body = exception.GetRawResponse()?.Content?.ToString();
            return string.IsNullOrEmpty(body) ? exception.Message : string.Concat(exception.Message, " ", body);
        }
        catch (Exception)
        {
            // A response whose content cannot be read (a stream already consumed) leaves the message.
            return exception.Message;
        }
    }

    private string AcceptCustom(string type)
    {
        if (type.Length is 0 or > MaxCustomTypeLength || !IsTagSafe(type))
        {
            return LlmErrorTypes.Other;
        }

        if (IsBuiltIn(type))
        {
            return type;
        }

        lock (this.customTypesLock)
        {
            if (this.customTypes.Contains(type))
            {
                return type;
            }

            if (this.customTypes.Count < MaxCustomTypes)
            {
                this.customTypes.Add(type);
                return type;
            }
        }

        return LlmErrorTypes.Other;
    }

    private static bool IsTagSafe(string value)
    {
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsBuiltIn(string type) => type is LlmErrorTypes.Timeout or LlmErrorTypes.RateLimited
        or LlmErrorTypes.Authentication or LlmErrorTypes.InvalidRequest or LlmErrorTypes.ContentFiltered
        or LlmErrorTypes.ContextLengthExceeded or LlmErrorTypes.ProviderUnavailable or LlmErrorTypes.Network
        or LlmErrorTypes.Cancelled or LlmErrorTypes.BudgetExceeded or LlmErrorTypes.Other;
}
