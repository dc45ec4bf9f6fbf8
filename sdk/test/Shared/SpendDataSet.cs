using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests.Shared;

/// <summary>A mixed set of records for the spend query: tenants, users and models with and without a value, unpriced
/// requests, costs of many scales, two routes and two replicas, over three hours; and the questions to ask of it. A
/// store's SQL answer must be the default's (<see cref="LlmSpendQuery"/>'s, over these records) for every question.</summary>
internal static class SpendDataSet
{
    /// <summary>The records, one every 40 seconds from <paramref name="from"/> (whole seconds: PostgreSQL keeps
    /// microseconds).</summary>
    public static List<LlmRequestRecord> Records(DateTimeOffset from, int count = 300)
    {
        string?[] tenants = ["acme", "globex", "initech", null];
        string?[] models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet", null];
        decimal[] costs = [0.0123m, 0.000000750m, 1.5m, 0.1m, 0.00042m, 0m, 2.000001m];
        var records = new List<LlmRequestRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var unpriced = i % 7 == 3;

            // Users u10..u14 only ever have unpriced requests, one each: rows that tie on cost and requests.
            var user = i % 11 == 0 ? null : unpriced && i < 120 ? "u1" + (i % 5) : "u" + (i % 9);
            records.Add(new LlmRequestRecord
            {
                Id = $"spend-{i:000}",
                TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
                Route = i % 3 == 0 ? "/api/summarize" : "/api/chat",
                Status = i % 10 == 0 ? "error" : "ok",
                Model = models[(i / 2) % models.Length],
                Replica = i % 2 == 0 ? "r1" : "r2",
                TenantId = tenants[(i / 3) % tenants.Length],
                UserId = user,
                Properties = i % 4 == 0 ? new Dictionary<string, string> { ["feature"] = i % 8 == 0 ? "chat" : "search" } : new Dictionary<string, string>(),
                StartTime = from.AddSeconds(40 * i),
                DurationMs = 10 + i,
                Usage = new LlmUsage(100 + i, 10 + (i % 17)),
                CostUsd = unpriced ? null : costs[i % costs.Length] * (1 + (i % 5)),
                Unpriced = unpriced,
            });
        }

        return records;
    }

    /// <summary>Every dimension, with each filter alone, a closed window and a small limit.</summary>
    public static IEnumerable<LlmSpendQuery> Questions(DateTimeOffset from)
    {
        foreach (var by in Enum.GetValues<LlmSpendDimension>())
        {
            yield return new LlmSpendQuery { From = from, By = by };
            yield return new LlmSpendQuery { From = from, By = by, Limit = 3 };
            yield return new LlmSpendQuery { From = from.AddMinutes(50), To = from.AddMinutes(130), By = by, Limit = 500 };
            yield return new LlmSpendQuery { From = from, By = by, TenantId = "acme" };
            yield return new LlmSpendQuery { From = from, By = by, UserId = "u3" };
            yield return new LlmSpendQuery { From = from, By = by, Route = "/api/summarize" };
            yield return new LlmSpendQuery { From = from, By = by, Model = "gpt-4o" };
            yield return new LlmSpendQuery { From = from, By = by, Replica = "r2", Limit = 500 };
            yield return new LlmSpendQuery { From = from.AddHours(5), By = by };
        }
    }

    /// <summary>For an assertion's message.</summary>
    public static string Describe(LlmSpendQuery q)
        => $"by {q.By} from {q.From:HH:mm} to {q.To:HH:mm} limit {q.Limit} tenant {q.TenantId} user {q.UserId} route {q.Route} model {q.Model} replica {q.Replica}";
}
