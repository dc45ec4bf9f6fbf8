using System.Diagnostics;
using LlmApm.Otel.History;

namespace LlmApm.Otel.Tests;

public class LlmScoreTests
{
    [Fact]
    public void AddScore_DuringRequest_AddsEventToSpanCountsAndKeepsInHistory()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        string id;
        using (var request = host.Instrumentation.StartRequest("/api/chat"))
        {
            request.RecordUsage("gpt-4o-mini", new LlmUsage(10, 5));
            request.AddScore(LlmScore.Numeric("relevance", 0.25, label: "weak", comment: "off topic", source: "test"));
            id = request.Id;
        }

        host.Flush();
        var span = Assert.Single(host.Exported, s => s.DisplayName == "llm.request /api/chat");
        var evaluation = Assert.Single(span.Events, e => e.Name == "gen_ai.evaluation.result");
        var tags = evaluation.Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("relevance", tags["gen_ai.evaluation.name"]);
        Assert.Equal(0.25, tags["gen_ai.evaluation.score.value"]);
        Assert.Equal("weak", tags["gen_ai.evaluation.score.label"]);
        Assert.False(tags.ContainsKey("gen_ai.evaluation.explanation")); // a comment is free text: capture is off

        var record = host.History.Find(id)!;
        var score = Assert.Single(record.Scores);
        Assert.Equal(("relevance", LlmScoreKind.Numeric, 0.25, "off topic", "test"), (score.Name, score.Kind, score.Value!.Value, score.Comment, score.Source));

        var counted = Assert.Single(metrics.Of("llm.scores"));
        Assert.Equal(("/api/chat", "gpt-4o-mini", "relevance", "neutral"), (counted.Tag("route"), counted.Tag("model"), counted.Tag("name"), counted.Tag("polarity")));
    }

    [Fact]
    public void AddScore_DuringRequestWithContentCapture_PutsCommentOnTheEvent()
    {
        using var host = TestHost.Start(o => o.CaptureMessageContent = true);
        using (var request = host.Instrumentation.StartRequest("capture"))
        {
            request.AddScore(LlmScore.Boolean(LlmScore.UserFeedback, false, comment: "wrong city"));
        }

        host.Flush();
        var span = Assert.Single(host.Exported, s => s.DisplayName == "llm.request capture");
        var evaluation = Assert.Single(span.Events);
        Assert.Equal("wrong city", evaluation.Tags.Single(t => t.Key == "gen_ai.evaluation.explanation").Value);
    }

    [Fact]
    public void AddScore_ByIdAfterTheRequest_JoinsHistoryCountsAndRecordsEventInTheRequestsTrace()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        string id;
        using (var request = host.Instrumentation.StartRequest("/api/chat/stream"))
        {
            request.RecordUsage("gpt-4o-mini", new LlmUsage(10, 5));
            id = request.Id;
        }

        Assert.True(host.Instrumentation.AddScore(id, LlmScore.Boolean(LlmScore.UserFeedback, false, source: "user")));
        Assert.True(host.Instrumentation.AddScore(id.ToUpperInvariant(), LlmScore.Categorical("topic", "billing")));

        host.Flush();
        var record = host.History.Find(id)!;
        Assert.Equal([LlmScore.UserFeedback, "topic"], record.Scores.Select(s => s.Name));
        Assert.Equal(LlmScorePolarity.Negative, record.Scores[0].Polarity);
        Assert.Equal("false", record.Scores[0].Label);

        var requestSpan = Assert.Single(host.Exported, s => s.DisplayName == "llm.request /api/chat/stream");
        var scoreSpans = host.Exported.Where(s => s.DisplayName == "llm.score").ToList();
        Assert.Equal(2, scoreSpans.Count);
        Assert.All(scoreSpans, s =>
        {
            Assert.Equal(requestSpan.TraceId, s.TraceId);
            Assert.Equal(requestSpan.SpanId, s.ParentSpanId);
            Assert.Equal(id, s.GetTagItem("llm.request.id"));
        });
        Assert.Equal(0.0, scoreSpans[0].Events.Single().Tags.Single(t => t.Key == "gen_ai.evaluation.score.value").Value);

        Assert.Equal(1, metrics.Sum("llm.scores", ("name", LlmScore.UserFeedback), ("polarity", "negative"), ("route", "/api/chat/stream"), ("model", "gpt-4o-mini")));
        Assert.Equal(1, metrics.Sum("llm.scores", ("name", "topic"), ("polarity", "neutral")));
    }

    [Fact]
    public void AddScore_UnknownId_ReturnsFalseAndCountsNothing()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start();
        Assert.False(host.Instrumentation.AddScore("0123456789abcdef0123456789abcdef", LlmScore.Boolean("x", true)));
        Assert.Empty(metrics.Of("llm.scores"));
    }

    [Fact]
    public void AddScore_AfterDisposeOnTheRequest_GoesToTheHistoryById()
    {
        using var host = TestHost.Start();
        var request = host.Instrumentation.StartRequest("late");
        request.Dispose();
        request.AddScore(LlmScore.Boolean(LlmScore.UserFeedback, true));
        Assert.Single(host.History.Find(request.Id)!.Scores);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("naïve")]
    public void Boolean_BadName_Throws(string name)
        => Assert.ThrowsAny<ArgumentException>(() => LlmScore.Boolean(name, true));

    [Fact]
    public void Factories_PastTheBounds_Throw()
    {
        Assert.Throws<ArgumentException>(() => LlmScore.Boolean(new string('a', LlmScore.MaxNameLength + 1), true));
        Assert.Throws<ArgumentException>(() => LlmScore.Boolean("ok", true, comment: new string('c', LlmScore.MaxCommentLength + 1)));
        Assert.Throws<ArgumentException>(() => LlmScore.Categorical("ok", new string('l', LlmScore.MaxLabelLength + 1)));
        Assert.Throws<ArgumentException>(() => LlmScore.Boolean("ok", true, source: new string('s', LlmScore.MaxSourceLength + 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => LlmScore.Numeric("ok", double.NaN));
        Assert.Equal(LlmScore.MaxNameLength, LlmScore.Boolean(new string('a', LlmScore.MaxNameLength), true).Name.Length);
    }

    [Fact]
    public void Tag_PastTheFirstNames_IsOtherButDeclaredNamesStay()
    {
        var names = new ScoreNameTagger(["declared"]);
        for (var i = 0; i < ScoreNameTagger.MaxNames; i++)
        {
            Assert.Equal($"n{i}", names.Tag($"n{i}"));
        }

        Assert.Equal("other", names.Tag("one-more"));
        Assert.Equal("n3", names.Tag("n3"));
        Assert.Equal("declared", names.Tag("declared"));
        Assert.Equal(LlmScore.UserFeedback, names.Tag(LlmScore.UserFeedback));
    }

    [Fact]
    public void Query_NegativeOnly_ReturnsOnlyRequestsWithANegativeScore()
    {
        using var host = TestHost.Start();
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            using var request = host.Instrumentation.StartRequest("neg");
            ids.Add(request.Id);
        }

        host.Instrumentation.AddScore(ids[1], LlmScore.Boolean(LlmScore.UserFeedback, false));
        host.Instrumentation.AddScore(ids[2], LlmScore.Boolean(LlmScore.UserFeedback, true));
        host.Instrumentation.AddScore(ids[3], LlmScore.Numeric("refusal", 1, polarity: LlmScorePolarity.Negative));

        var found = host.History.Query(new LlmHistoryQuery { NegativeOnly = true, Route = "neg" });
        Assert.Equal([ids[3], ids[1]], found.Select(r => r.Id));
        Assert.Equal(4, host.History.Query(new LlmHistoryQuery { Route = "neg" }).Count);
    }

    [Fact]
    public void AddScore_ManyRequestsScored_KeepsTheScoresOfTheRequestsStillInTheRing()
    {
        var store = new InMemoryLlmHistoryStore(4);
        var ids = Enumerable.Range(0, 6).Select(i => ActivityTraceId.CreateRandom().ToHexString()).ToList();
        foreach (var id in ids)
        {
            store.Add(new LlmRequestRecord { Id = id, TraceId = id, Route = "r", Status = "ok" });
            Assert.True(store.AddScore(id, LlmScore.Boolean("b", true)));
        }

        Assert.False(store.AddScore(ids[0], LlmScore.Boolean("b", true))); // left the ring
        Assert.All(ids[2..], id => Assert.Single(store.Find(id)!.Scores));
        for (var i = 0; i < LlmScoreTable.MaxPerRequest + 3; i++)
        {
            store.AddScore(ids[5], LlmScore.Numeric("n", i));
        }

        var kept = store.Find(ids[5])!.Scores;
        Assert.Equal(LlmScoreTable.MaxPerRequest, kept.Count);
        Assert.Equal(LlmScoreTable.MaxPerRequest + 2, kept[^1].Value);
    }

    [Fact]
    public void Add_RecordWithScores_KeepsThemAndStaysAValueInTheRing()
    {
        var store = new InMemoryLlmHistoryStore(8);
        var id = ActivityTraceId.CreateRandom().ToHexString();
        store.Add(new LlmRequestRecord { Id = id, TraceId = id, Route = "r", Status = "ok", Scores = [LlmScore.Boolean("b", false)] });
        Assert.Equal(0, store.CountKeptAsObjects());
        Assert.Equal("b", Assert.Single(store.Find(id)!.Scores).Name);
        Assert.Single(store.Since(DateTimeOffset.MinValue)[0].Scores);
    }
}
