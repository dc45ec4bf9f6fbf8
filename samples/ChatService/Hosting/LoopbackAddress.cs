namespace ChatService.Hosting;

/// <summary>Turns a listening address (<c>http://0.0.0.0:8080</c>, <c>http://[::]:80</c>, <c>http://+:80</c>) into one a
/// browser or a loopback client on this machine can open.</summary>
internal static class LoopbackAddress
{
    public static string Browsable(string address)
    {
        var forParsing = address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal);
        if (!Uri.TryCreate(forParsing, UriKind.Absolute, out var uri))
        {
            return address;
        }

        var host = uri.Host switch
        {
            "0.0.0.0" => "127.0.0.1",
            "[::]" or "::" => "[::1]",
            _ => uri.Host,
        };
        return new UriBuilder(uri) { Host = host }.Uri.GetLeftPart(UriPartial.Authority);
    }
}
