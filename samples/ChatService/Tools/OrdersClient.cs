using System.Net;
using System.Net.Http.Json;
using ChatService.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace ChatService.Tools;

/// <summary>Reads an order from the service's own <c>GET /api/orders/{id}</c> over loopback HTTP (a typed client of
/// <c>IHttpClientFactory</c>), so that the tool's call is an HTTP span, and an <c>http</c> step under the tool's step.</summary>
internal sealed class OrdersClient(HttpClient http, IServer server)
{
    /// <summary>The order, or <c>null</c> when there is no such order.</summary>
    public async Task<Order?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses
            .FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException("The order service's address is unknown: the server listens on no http address.");
        var uri = new Uri(new Uri(LoopbackAddress.Browsable(address)), $"{OrderBook.Path}/{Uri.EscapeDataString(id)}");
        using var response = await http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<Order>(cancellationToken).ConfigureAwait(false);
    }
}
