namespace ChatService.Tests.Infrastructure;

/// <summary>Temporary folders of the tests, under the system's temporary folder.</summary>
internal static class TempFolder
{
    public static string Create(string purpose)
    {
        var path = Path.Combine(Path.GetTempPath(), "llm-apm-tests", $"{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
        }
    }
}
