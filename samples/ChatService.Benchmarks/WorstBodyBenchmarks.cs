// The CPU a chat can cost before it reaches the provider is bounded by the body's size: the worst bodies the limits
// accept (64 KB, 32768 characters), whole requests through the service in process with the simulated provider
// answering at once (so the figure is preprocessing plus the simulator's own token count of the prompt, an upper
// bound of preprocessing). Target: under 50 ms per request. Results: docs/benchmarks.md.
//
// `--job short --inProcess`, one run, on a 2-core machine shared with other builds and tests (noisy: see Error).
// cjk, combining and emoji-mixed are refused 413 context_length_exceeded; the others are accepted (200).
// | Method    | Body        | Mean      | Error     | StdDev    | Gen0     | Gen1    | Allocated |
// |---------- |------------ |----------:|----------:|----------:|---------:|--------:|----------:|
// | ChatAsync | cjk         | 17.463 ms | 32.671 ms | 1.7908 ms | 187.5000 | 31.2500 | 553.62 KB |
// | ChatAsync | combining   |  4.437 ms | 14.579 ms | 0.7991 ms | 203.1250 | 54.6875 | 580.27 KB |
// | ChatAsync | emoji       | 27.002 ms | 38.992 ms | 2.1373 ms | 187.5000 | 62.5000 | 1319.8 KB |
// | ChatAsync | emoji-mixed |  5.153 ms | 14.624 ms | 0.8016 ms | 218.7500 | 62.5000 | 579.36 KB |
// | ChatAsync | one-letter  | 23.174 ms | 13.998 ms | 0.7673 ms | 125.0000 | 62.5000 |  766.6 KB |
// | ChatAsync | spaces      |  2.366 ms |  5.662 ms | 0.3104 ms |  42.9688 |  7.8125 | 534.32 KB |
// | ChatAsync | words       |  5.489 ms | 17.373 ms | 0.9523 ms |  78.1250 | 15.6250 | 490.04 KB |
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ChatService.Benchmarks;

[MemoryDiagnoser]
public class WorstBodyBenchmarks
{
    private WebApplicationFactory<Program>? factory;
    private HttpClient? client;
    private string? dataPath;
    private byte[] body = [];

    [Params("emoji", "emoji-mixed", "cjk", "combining", "one-letter", "spaces", "words")]
    public string Body { get; set; } = "emoji";

    [GlobalSetup]
    public void Setup()
    {
        this.dataPath = Directory.CreateTempSubdirectory("chat-bench").FullName;

        // The factory looks for the service's content root beside the solution by the assembly's name; point it at
        // samples/ChatService wherever the benchmark runs from.
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "LlmApm.Otel.sln")))
        {
            root = root.Parent;
        }

        Environment.SetEnvironmentVariable(
            "ASPNETCORE_TEST_CONTENTROOT_CHATSERVICE",
            Path.Combine(root?.FullName ?? throw new InvalidOperationException("LlmApm.Otel.sln not found."), "samples", "ChatService"));
        this.factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("ChatService:DataPath", this.dataPath);
            builder.UseSetting("ChatService:RateLimit:PermitLimit", "100000000");
            builder.UseSetting("Llm:Simulated:TimeToFirstTokenMs", "0");
            builder.UseSetting("Llm:Simulated:PerTokenMs", "0");
            builder.UseSetting("Llm:MaxRetries", "0");
            builder.UseSetting("Logging:LogLevel:Default", "Warning");
        });
        this.client = this.factory.CreateClient();
        this.body = Encoding.UTF8.GetBytes($$"""{"message":"{{Message(this.Body)}}"}""");

        // The first chat builds the tokenizer (about 0.3 s, once per process): not what is measured.
        this.ChatAsync().GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        this.client?.Dispose();
        this.factory?.Dispose();
        if (this.dataPath is not null)
        {
            Directory.Delete(this.dataPath, recursive: true);
        }
    }

    [Benchmark]
    public async Task<int> ChatAsync()
    {
        using var content = new ByteArrayContent(this.body);
        content.Headers.ContentType = new("application/json");
        using var response = await this.client!.PostAsync(new Uri("/api/chat", UriKind.Relative), content);
        var status = (int)response.StatusCode;
        return status is 200 or 413 ? status : throw new InvalidOperationException($"{this.Body}: HTTP {status}");
    }

    /// <summary>The worst bodies of the HostileInputTests: runs without a space under the body and length limits.</summary>
    internal static string Message(string name) => name switch
    {
        "emoji" => string.Concat(Enumerable.Repeat("\U0001F600", 15_000)),
        "emoji-mixed" => string.Concat(Enumerable.Range(0, 15_000).Select(i => char.ConvertFromUtf32(0x1F600 + (i % 80)))),
        "cjk" => new string([.. Enumerable.Range(0, 21_000).Select(i => (char)(0x4E00 + (i * 7919 % 20_000)))]),
        "combining" => "a" + new string('\u0301', 30_000),
        "one-letter" => new string('a', 32_000),
        "spaces" => "a" + new string(' ', 32_000 - 2) + "b",
        "words" => string.Concat(Enumerable.Repeat("hello world, how are you? ", 1_200)),
        _ => throw new ArgumentException(name, nameof(name)),
    };
}
