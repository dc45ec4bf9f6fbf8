using System.Collections;
using System.Reflection;
using System.Text;
using System.Text.Json;
using LlmApm.Otel.AspNetCore.Implementation;
using LlmApm.Otel.History;
using LlmApm.Otel.Sqlite;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel.AspNetCore.Tests;

/// <summary>Every property of <see cref="LlmRequestRecord"/> survives the ring's slot, the SQLite row and the API's wire
/// model. The checks go over the record's properties by reflection, so a property added to the record and forgotten by
/// one of them fails here; the samples set every property (a test checks that too), so a new one must be given a value.</summary>
public sealed class LlmRequestRecordRoundTripTests : IDisposable
{
    // The properties a record that fits a slot of the ring leaves unset: the ring keeps a record with either as an object.
    private static readonly string[] NotInASlot = [nameof(LlmRequestRecord.ErrorMessage), nameof(LlmRequestRecord.Content), nameof(LlmRequestRecord.DroppedSteps)];

    private readonly string folder = Directory.CreateTempSubdirectory("llm-apm-roundtrip-").FullName;

    public static TheoryData<bool> Samples => [false, true];

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(this.folder, recursive: true);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Sample_EveryProperty_HasAValueOtherThanItsDefault(bool full)
    {
        var record = Sample(full);
        foreach (var property in Properties(typeof(LlmRequestRecord)))
        {
            if (property.Name == nameof(LlmRequestRecord.Seq) || (!full && NotInASlot.Contains(property.Name)))
            {
                continue;
            }

            AssertNotDefault(property.GetValue(record), property.Name);
        }
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Ring_EveryProperty_SurvivesTheRing(bool full)
    {
        var store = new InMemoryLlmHistoryStore(capacity: 16);
        var record = Sample(full);

        var seq = store.Add(record);

        // The compact sample really is kept in a slot, not as the object it was given.
        Assert.Equal(full ? 1 : 0, store.CountKeptAsObjects());
        var expected = record.WithSeq(seq);
        AssertSameRecord(expected, store.Find(record.Id));
        AssertSameRecord(expected, Assert.Single(store.Query(new LlmHistoryQuery())));
        AssertSameRecord(expected, Assert.Single(store.Since(DateTimeOffset.MinValue)));
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task Sqlite_EveryProperty_SurvivesTheDatabase(bool full)
    {
        var path = Path.Combine(this.folder, "history.db");
        var record = Sample(full);
        long seq;
        await using (var store = OpenSqlite(path))
        {
            seq = store.Add(record);
            store.Add(new LlmRequestRecord { Id = "newer", TraceId = "t", Route = "/r", Status = "ok" });
            Assert.True(await store.FlushAsync(TimeSpan.FromSeconds(30)));
        }

        // Reopened with a memory of one record (the newer one): the sample is read from its row.
        await using var reopened = OpenSqlite(path);
        AssertSameRecord(record.WithSeq(seq), reopened.Find(record.Id));
        AssertSameRecord(record.WithSeq(seq), reopened.Query(new LlmHistoryQuery()).Single(r => r.Id == record.Id));
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task Api_EveryProperty_SurvivesTheWire(bool full)
    {
        await using var app = await TestApp.StartAsync();
        var record = Sample(full);
        var expected = record.WithSeq(app.Instrumentation.History.Add(record));

        using var one = JsonDocument.Parse(await app.Client.GetStringAsync($"/llm-apm/api/requests/{record.Id}"));
        AssertWire(expected, one.RootElement, "api/requests/{id}");

        using var page = JsonDocument.Parse(await app.Client.GetStringAsync("/llm-apm/api/requests"));
        AssertWire(expected, page.RootElement.GetProperty("items")[0], "api/requests items[0]");

        // The live stream's event carries the same model.
        var sse = Encoding.UTF8.GetString(LlmApmLiveStream.Format(expected));
        var data = sse.Split('\n').Single(line => line.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];
        using var streamed = JsonDocument.Parse(data);
        AssertWire(expected, streamed.RootElement, "api/stream data");
    }

    /// <summary>A record with every property set to a value of its own. The compact one fits a slot of the ring (hex ids,
    /// UTC start, no error message or content); the full one sets everything and is kept by the ring as an object.</summary>
    private static LlmRequestRecord Sample(bool full) => new()
    {
        Id = "0123456789abcdef0123456789abcdef",
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = "00f067aa0ba902b7",
        StartTime = full
            ? new DateTimeOffset(2026, 11, 26, 20, 4, 59, TimeSpan.FromHours(2)).AddTicks(1234567)
            : new DateTimeOffset(2026, 11, 26, 20, 4, 59, TimeSpan.Zero).AddTicks(7654321),
        DurationMs = 812.375,
        Route = "/route-r",
        Model = "model-m",
        Provider = "provider-p",
        ConversationId = "fedcba9876543210fedcba9876543210",
        Replica = "replica-r",
        UserId = "user-u",
        TenantId = "tenant-t",
        Properties = new Dictionary<string, string> { ["key-k"] = "value-v", ["key.two"] = "value two" },
        Status = "error",
        ErrorType = "error-type-e",
        ErrorMessage = full ? "error message" : null,

        // Each count its own number, so that two columns swapped are caught.
        Usage = new LlmUsage(1201, 352, CachedInputTokens: 1003, ReasoningTokens: 54, Estimated: true) { CacheWriteInputTokens = 97 },

        // Unpriced with a cost as well: each is kept on its own, whatever they mean together.
        CostUsd = 0.000123456789m,
        Unpriced = true,
        Steps =
        [
            new LlmStepRecord("step-one", 0.25, 1.5, "ok", null, 0, LlmStepKinds.Tool),
            new LlmStepRecord("step-two", 2.125, 700.5, "error", "step-error", 1, "kind-k", "price-p"),
        ],
        DroppedSteps = full ? 17 : 0,
        Content = full ? new LlmContentRecord("prompt-p", "completion-c") : null,
        Scores =
        [
            LlmScore.Numeric("score-s", 0.625, label: "label-l", comment: "comment-c", source: "source-s", polarity: LlmScorePolarity.Positive, timestamp: new DateTimeOffset(2026, 11, 26, 20, 5, 1, TimeSpan.Zero).AddTicks(4321)),
        ],
    };

    private static SqliteLlmHistoryStore OpenSqlite(string path)
    {
        var store = new SqliteLlmHistoryStore(
            Options.Create(new SqliteHistoryOptions { Path = path, FlushInterval = TimeSpan.FromMilliseconds(20) }),
            Options.Create(new LlmApmOptions { HistoryCapacity = 1 }));
        store.Open();
        Assert.True(store.Health.IsHealthy, store.Health.Reason);
        return store;
    }

    private static IEnumerable<PropertyInfo> Properties(Type type)
        => type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0);

    private static void AssertNotDefault(object? value, string path)
    {
        switch (value)
        {
            case null:
                Assert.Fail($"{path} is null: give it a value in Sample");
                break;
            case string text:
                Assert.False(text.Length == 0, $"{path} is empty");
                break;
            case IEnumerable items:
                var any = false;
                foreach (var item in items)
                {
                    any = true;
                }

                Assert.True(any, $"{path} is empty");
                break;
            case bool flag:
                Assert.True(flag, $"{path} is false");
                break;
            default:
                var type = value.GetType();
                if (type.IsPrimitive || value is decimal or DateTimeOffset)
                {
                    Assert.False(value.Equals(Activator.CreateInstance(type)), $"{path} is {value}, its default");
                }
                else
                {
                    foreach (var property in Properties(type))
                    {
                        AssertNotDefault(property.GetValue(value), $"{path}.{property.Name}");
                    }
                }

                break;
        }
    }

    private static void AssertSameRecord(LlmRequestRecord expected, LlmRequestRecord? actual)
    {
        Assert.NotNull(actual);
        foreach (var property in Properties(typeof(LlmRequestRecord)))
        {
            var want = property.GetValue(expected);
            var got = property.GetValue(actual);
            switch (want)
            {
                case IEnumerable<LlmStepRecord> steps:
                    Assert.Equal(steps, (IEnumerable<LlmStepRecord>)got!);
                    break;
                case IEnumerable<LlmScore> scores:
                    Assert.Equal(scores, (IEnumerable<LlmScore>)got!);
                    break;
                case IReadOnlyDictionary<string, string> map:
                    Assert.Equal(map.OrderBy(p => p.Key, StringComparer.Ordinal), ((IReadOnlyDictionary<string, string>)got!).OrderBy(p => p.Key, StringComparer.Ordinal));
                    break;
                case DateTimeOffset time:
                    // DateTimeOffset's equality ignores the offset: compare it too.
                    Assert.Equal((time.UtcTicks, time.Offset), (((DateTimeOffset)got!).UtcTicks, ((DateTimeOffset)got!).Offset));
                    break;
                default:
                    Assert.True(Equals(want, got), $"{property.Name}: expected {want}, read {got}");
                    break;
            }
        }
    }

    /// <summary>Compares a value of the record with its JSON: each public property by its wire name, an object with as
    /// many members as the value has properties (nothing on the wire that the record does not have).</summary>
    private static void AssertWire(object? expected, JsonElement actual, string path)
    {
        switch (expected)
        {
            case null:
                Assert.True(actual.ValueKind == JsonValueKind.Null, $"{path}: expected null, sent {actual}");
                break;
            case string text:
                Assert.True(text == actual.GetString(), $"{path}: expected {text}, sent {actual}");
                break;
            case bool flag:
                Assert.True(flag == actual.GetBoolean(), $"{path}: expected {flag}, sent {actual}");
                break;
            case Enum value:
                // The wire names an enum by its lowercase name (a score's kind and polarity).
                Assert.True(string.Equals(value.ToString().ToLowerInvariant(), actual.GetString(), StringComparison.Ordinal), $"{path}: expected {value}, sent {actual}");
                break;
            case int or long:
                Assert.True(Convert.ToInt64(expected, System.Globalization.CultureInfo.InvariantCulture) == actual.GetInt64(), $"{path}: expected {expected}, sent {actual}");
                break;
            case double number:
                Assert.True(number.Equals(actual.GetDouble()), $"{path}: expected {number}, sent {actual}");
                break;
            case decimal money:
                Assert.True(money == actual.GetDecimal(), $"{path}: expected {money}, sent {actual}");
                break;
            case DateTimeOffset time:
                var sent = actual.GetDateTimeOffset();
                Assert.True(time == sent && time.Offset == sent.Offset, $"{path}: expected {time:O}, sent {actual}");
                break;
            case IReadOnlyDictionary<string, string> map:
                // A map is a JSON object whose member names are the keys as they are.
                Assert.True(actual.ValueKind == JsonValueKind.Object, $"{path}: expected an object, sent {actual}");
                Assert.Equal(map.OrderBy(p => p.Key, StringComparer.Ordinal), actual.EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetString()!)).OrderBy(p => p.Key, StringComparer.Ordinal));
                break;
            case IEnumerable items:
                var list = items.Cast<object?>().ToList();
                Assert.True(actual.ValueKind == JsonValueKind.Array && actual.GetArrayLength() == list.Count, $"{path}: expected {list.Count} items, sent {actual}");
                for (var i = 0; i < list.Count; i++)
                {
                    AssertWire(list[i], actual[i], $"{path}[{i}]");
                }

                break;
            default:
                var properties = Properties(expected.GetType()).ToList();
                Assert.True(actual.ValueKind == JsonValueKind.Object, $"{path}: expected an object, sent {actual}");
                Assert.True(
                    properties.Count == actual.EnumerateObject().Count(),
                    $"{path}: the wire has [{string.Join(", ", actual.EnumerateObject().Select(p => p.Name))}], the record [{string.Join(", ", properties.Select(p => p.Name))}]");
                foreach (var property in properties)
                {
                    var name = WireName(expected.GetType(), property.Name);
                    Assert.True(actual.TryGetProperty(name, out var member), $"{path}: {property.Name} is not on the wire as '{name}'");
                    AssertWire(property.GetValue(expected), member, $"{path}.{name}");
                }

                break;
        }
    }

    /// <summary>The JSON name of a property: camelCase, the record's usage sent as <c>tokens</c> whose members drop the
    /// <c>Tokens</c> suffix (docs/api.md).</summary>
    private static string WireName(Type type, string property)
    {
        if (type == typeof(LlmRequestRecord) && property == nameof(LlmRequestRecord.Usage))
        {
            return "tokens";
        }

        if (type == typeof(LlmUsage) && property.EndsWith("Tokens", StringComparison.Ordinal))
        {
            property = property[..^"Tokens".Length];
        }

        return JsonNamingPolicy.CamelCase.ConvertName(property);
    }
}
