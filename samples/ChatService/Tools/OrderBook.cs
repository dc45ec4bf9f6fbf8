using System.Globalization;

namespace ChatService.Tools;

/// <summary>The sample's tiny, fixed order table behind <c>GET /api/orders/{id}</c>: the internal API that the
/// <c>lookup_order</c> tool calls over HTTP, as a tool of a real app would call its order service.</summary>
internal static class OrderBook
{
    public const string Path = "/api/orders";

    /// <summary>The longest order id accepted: digits only, so an id is never a path or a query.</summary>
    public const int MaxIdLength = 10;

    private static readonly Dictionary<string, Order> Orders = new(StringComparer.Ordinal)
    {
        ["1001"] = new("1001", "shipped", "2 × USB-C cable", 19.98m, new DateOnly(2026, 11, 28)),
        ["1002"] = new("1002", "processing", "1 × mechanical keyboard", 129.00m, new DateOnly(2026, 11, 30)),
        ["1003"] = new("1003", "delivered", "1 × 27-inch monitor", 349.50m, new DateOnly(2026, 11, 21)),
        ["123"] = new("123", "cancelled", "3 × notebook", 11.85m, new DateOnly(2026, 10, 2)),
    };

    /// <summary>Whether <paramref name="id"/> can be an order id: 1 to <see cref="MaxIdLength"/> ASCII digits.</summary>
    public static bool IsValidId(string? id)
        => !string.IsNullOrEmpty(id) && id.Length <= MaxIdLength && id.All(char.IsAsciiDigit);

    public static IEndpointRouteBuilder MapOrders(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Path + "/{id}", (string id) =>
            !IsValidId(id) ? Results.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Invalid order id",
                detail: string.Create(CultureInfo.InvariantCulture, $"An order id is 1 to {MaxIdLength} digits."))
            : Orders.TryGetValue(id, out var order) ? Results.Ok(order)
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Order not found"))
            .WithName("GetOrder")
            .Produces<Order>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }
}

/// <summary>One order of <see cref="OrderBook"/>.</summary>
internal sealed record Order(string Id, string Status, string Items, decimal TotalUsd, DateOnly Updated);
