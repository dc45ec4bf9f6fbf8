using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.Tests;

/// <summary>Every option set in code or in configuration, through services.AddLlmApm() and builder.AddLlmApm(), and the
/// start-up validation that names the key.</summary>
public class LlmApmOptionsTests
{
    public static TheoryData<string, string, string> Options() => new()
    {
        // option, configuration key, configuration value
        { nameof(LlmApmOptions.Enabled), "LlmApm:Enabled", "false" },
        { nameof(LlmApmOptions.HistoryCapacity), "LlmApm:HistoryCapacity", "42" },
        { nameof(LlmApmOptions.CaptureMessageContent), "LlmApm:CaptureMessageContent", "true" },
        { nameof(LlmApmOptions.Prices), "LlmApm:Prices:my-model:InputPerMillion", "1.5" },
        { nameof(LlmApmOptions.Models), "LlmApm:Models:0", "llama3" },
        { nameof(LlmApmOptions.OrphanTimeout), "LlmApm:OrphanTimeout", "00:00:30" },
        { nameof(LlmApmOptions.UseOtlpExporter), "LlmApm:UseOtlpExporter", "false" },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public void AddLlmApm_OptionInCodeOrConfiguration_ResolvesTheSame(string option, string key, string value)
    {
        Action<LlmApmOptions> code = option switch
        {
            nameof(LlmApmOptions.Enabled) => o => o.Enabled = false,
            nameof(LlmApmOptions.HistoryCapacity) => o => o.HistoryCapacity = 42,
            nameof(LlmApmOptions.CaptureMessageContent) => o => o.CaptureMessageContent = true,
            nameof(LlmApmOptions.Prices) => o => o.Prices["my-model"] = new LlmModelPrice { InputPerMillion = 1.5m },
            nameof(LlmApmOptions.Models) => o => o.Models.Add("llama3"),
            nameof(LlmApmOptions.OrphanTimeout) => o => o.OrphanTimeout = TimeSpan.FromSeconds(30),
            nameof(LlmApmOptions.UseOtlpExporter) => o => o.UseOtlpExporter = false,
            _ => throw new ArgumentOutOfRangeException(nameof(option)),
        };
        var settings = new Dictionary<string, string?> { [key] = value };

        var defaults = Describe(Resolve(viaHostBuilder: false, null, []));
        var expected = Describe(Resolve(viaHostBuilder: false, code, []));
        Assert.NotEqual(defaults, expected);
        Assert.Equal(expected, Describe(Resolve(viaHostBuilder: true, code, [])));
        Assert.Equal(expected, Describe(Resolve(viaHostBuilder: false, null, settings)));
        Assert.Equal(expected, Describe(Resolve(viaHostBuilder: true, null, settings)));
    }

    [Fact]
    public void AddLlmApm_CodeAndConfiguration_CodeWins()
    {
        var options = Resolve(viaHostBuilder: false, o => o.HistoryCapacity = 7, new() { ["LlmApm:HistoryCapacity"] = "42" });

        Assert.Equal(7, options.HistoryCapacity);
    }

    [Fact]
    public void AddLlmApm_StandardCaptureSwitchInConfiguration_TurnsCaptureOn()
    {
        var options = Resolve(viaHostBuilder: false, null, new() { [LlmApmOptions.CaptureMessageContentEnvironmentVariable] = "true" });

        Assert.True(options.CaptureMessageContent);
    }

    [Theory]
    [InlineData("LlmApm:HistoryCapacity", "0", "LlmApm:HistoryCapacity")]
    [InlineData("LlmApm:OrphanTimeout", "-00:00:01", "LlmApm:OrphanTimeout")]
    [InlineData("LlmApm:Prices:cheap:InputPerMillion", "-1", "LlmApm:Prices:cheap:InputPerMillion")]
    [InlineData("LlmApm:Prices:cheap:OutputPerMillion", "-0.5", "LlmApm:Prices:cheap:OutputPerMillion")]
    [InlineData("LlmApm:Prices:cheap:CachedInputPerMillion", "-2", "LlmApm:Prices:cheap:CachedInputPerMillion")]
    [InlineData("LlmApm:Models:0", " ", "LlmApm:Models:0")]
    [InlineData("LlmApm:Tenants:0", "acme\tcorp", "LlmApm:Tenants:0")]
    public void AddLlmApm_InvalidOption_FailsAtStartNamingTheKey(string key, string value, string named)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [key] = value });
        builder.AddLlmApm();
        using var app = builder.Build();

        var error = Assert.Throws<OptionsValidationException>(() => app.Start());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddLlmApm_InvalidOptionInCode_FailsAtStartNamingTheKey()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLlmApm(o => o.Prices["free-lunch"] = new LlmModelPrice { InputPerMillion = 1, OutputPerMillion = -3 });
        using var app = builder.Build();

        var error = Assert.Throws<OptionsValidationException>(() => app.Start());
        Assert.Contains("LlmApm:Prices:free-lunch:OutputPerMillion", error.Message, StringComparison.Ordinal);
    }

    private static LlmApmOptions Resolve(bool viaHostBuilder, Action<LlmApmOptions>? code, Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        if (viaHostBuilder)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddConfiguration(configuration);
            builder.AddLlmApm(code);
            using var host = builder.Build();
            return host.Services.GetRequiredService<IOptions<LlmApmOptions>>().Value;
        }

        // A plain service collection with the configuration registered, as a library or test host has it.
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLlmApm(code);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<LlmApmOptions>>().Value;
    }

    private static string Describe(LlmApmOptions o)
        => string.Join(
            "|",
            o.Enabled,
            o.HistoryCapacity,
            o.CaptureMessageContent,
            string.Join(",", o.Prices.Select(p => $"{p.Key}={p.Value.InputPerMillion}/{p.Value.CachedInputPerMillion}/{p.Value.OutputPerMillion}")),
            string.Join(",", o.Models),
            o.OrphanTimeout,
            o.UseOtlpExporter);
}
