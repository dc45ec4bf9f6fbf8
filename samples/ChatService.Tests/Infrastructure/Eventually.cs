namespace ChatService.Tests.Infrastructure;

/// <summary>Waits for a condition that becomes true shortly after a response (records and metrics are written when
/// the request ends, which may be after the client has read the response).</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("The condition did not become true in time.");
            }

            await Task.Delay(20);
        }
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null)
        => TrueAsync(() => Task.FromResult(condition()), timeout);
}
