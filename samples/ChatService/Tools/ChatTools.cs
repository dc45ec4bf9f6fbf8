using System.ComponentModel;
using System.Globalization;
using Microsoft.Extensions.AI;

namespace ChatService.Tools;

/// <summary>
/// The tools the model may call (through <c>UseFunctionInvocation()</c>): <c>get_current_time</c> and
/// <c>lookup_order</c>. Each is bounded and deterministic for its input; a bad argument throws an
/// <see cref="ArgumentException"/> with a message meant for the model, which the function invocation turns into a
/// failed tool step and an error result for the model, never a failure of the chat.
/// </summary>
internal sealed class ChatTools
{
    public const string CurrentTimeName = "get_current_time";
    public const string LookupOrderName = "lookup_order";

    private const int MaxZoneLength = 64;
    private readonly TimeProvider time;
    private readonly OrdersClient orders;

    public ChatTools(TimeProvider time, OrdersClient orders)
    {
        this.time = time;
        this.orders = orders;
        this.All =
        [
            AIFunctionFactory.Create(this.GetCurrentTime, CurrentTimeName, "The current date and time, in UTC or in an IANA time zone."),
            AIFunctionFactory.Create(this.LookupOrderAsync, LookupOrderName, "An order's status, items and total, by its id."),
        ];
    }

    public IList<AITool> All { get; }

    /// <summary>The current time: UTC, and local time in <paramref name="timeZone"/> when given.</summary>
    public string GetCurrentTime([Description("An IANA time zone such as Europe/Paris; UTC when omitted.")] string? timeZone = null)
    {
        var now = this.time.GetUtcNow();
        var utc = now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        if (string.IsNullOrWhiteSpace(timeZone) || string.Equals(timeZone.Trim(), "UTC", StringComparison.OrdinalIgnoreCase))
        {
            return $"The current time is {utc} (UTC).";
        }

        var zoneId = timeZone.Trim();
        TimeZoneInfo zone;
        try
        {
            zone = zoneId.Length <= MaxZoneLength && zoneId.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '_' or '-' or '+')
                ? TimeZoneInfo.FindSystemTimeZoneById(zoneId)
                : throw new TimeZoneNotFoundException();
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ArgumentException($"'{Bounded(zoneId)}' is not a known IANA time zone (for example Europe/Paris or America/New_York).", nameof(timeZone), ex);
        }

        var local = TimeZoneInfo.ConvertTime(now, zone);
        return string.Create(CultureInfo.InvariantCulture, $"The current time is {local:yyyy-MM-dd HH:mm:ss} in {zone.Id} (UTC{local:zzz}), {utc} UTC.");
    }

    /// <summary>An order by its id, read from the order service.</summary>
    public async Task<string> LookupOrderAsync([Description("The order id: digits only, such as 1001.")] string orderId, CancellationToken cancellationToken)
    {
        var id = orderId?.Trim().TrimStart('#');
        if (!OrderBook.IsValidId(id))
        {
            throw new ArgumentException($"'{Bounded(orderId)}' is not an order id: an order id is 1 to {OrderBook.MaxIdLength} digits, such as 1001.", nameof(orderId));
        }

        Order? order;
        try
        {
            order = await this.orders.GetAsync(id!, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            // The model sees this message: the service's address and the response stay out of it.
            throw new HttpRequestException("The order service did not answer.", ex, ex.StatusCode);
        }

        return order is null
            ? $"There is no order {id}."
            : string.Create(CultureInfo.InvariantCulture, $"Order {order.Id} is {order.Status}: {order.Items}, {order.TotalUsd:0.00} USD, last updated {order.Updated:yyyy-MM-dd}.");
    }

    /// <summary>An argument quoted back to the model, cut short: the model may send anything.</summary>
    private static string Bounded(string? value)
    {
        const int Max = 40;
        value ??= string.Empty;
        return value.Length <= Max ? value : value[..Max] + "…";
    }
}
