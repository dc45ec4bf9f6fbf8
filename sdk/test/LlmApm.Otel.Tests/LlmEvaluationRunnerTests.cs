using System.Collections.Concurrent;
using System.Diagnostics;
using LlmApm.Otel.History;
using LlmApm.Otel.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.AI.Evaluation;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApm.Otel.Tests;

public class LlmEvaluationRunnerTests
{
    [Fact]
    public async Task Offer_HalfSampled_ScoresOnlyTheSampledRequests()
    {
        var evaluated = new ConcurrentBag<string>();
        using var host = TestHost.Start(o => o.Evaluation.SampleRate = 0.5, build: b => b.Services.AddLlmApmEvaluator("checker", (input, _) =>
        {
            evaluated.Add(input.RequestId);
            return ValueTask.FromResult<IEnumerable<LlmScore>>([LlmScore.Boolean("checked", true, source: "checker")]);
        }));
        var draws = 0;
        host.Instrumentation.Evaluations!.Draw = () => Interlocked.Increment(ref draws) % 2 == 0 ? 0.0 : 0.9;

        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            using var request = host.Instrumentation.StartRequest("/api/sampled");
            ids.Add(request.Id);
        }

        await WaitAsync(() => evaluated.Count >= 10);
        await WaitAsync(() => ids.Count(id => host.History.Find(id)!.Scores.Count > 0) >= 10);
        var scored = ids.Where(id => host.History.Find(id)!.Scores.Count > 0).ToList();
        Assert.Equal(10, scored.Count);
        Assert.Equal(evaluated.Order(), scored.Order());
        Assert.Equal(ids.Where((_, i) => i % 2 == 1), scored); // the draws 2, 4, ... of requests 1, 3, ...

        // Evaluations run in requests of their own route, which are never evaluated themselves.
        var evaluationRecords = host.History.Query(new LlmHistoryQuery { Route = "llm-apm.evaluation", Limit = 100 });
        Assert.Equal(10, evaluationRecords.Count);
        Assert.All(evaluationRecords, r => Assert.Empty(r.Scores));
    }

    [Fact]
    public async Task Evaluate_ThrowingAndSlowEvaluators_ChangeNothingForTheRequestAndAreCounted()
    {
        using var metrics = new MetricCollector();
        var gate = new TaskCompletionSource<IEnumerable<LlmScore>>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = TestHost.Start(
            o =>
            {
                o.Evaluation.SampleRate = 1;
                o.Evaluation.Timeout = TimeSpan.FromMilliseconds(200);
            },
            build: b => b.Services
                .AddLlmApmEvaluator("throws", (_, _) => throw new InvalidOperationException("evaluator bug"))
                .AddLlmApmEvaluator("hangs", (_, _) => new ValueTask<IEnumerable<LlmScore>>(gate.Task)) // ignores its token
                .AddLlmApmEvaluator("works", (_, _) => ValueTask.FromResult<IEnumerable<LlmScore>>([LlmScore.Numeric("length", 42)])));

        string id;
        using (var request = host.Instrumentation.StartRequest("/api/chat"))
        {
            request.RecordUsage("gpt-4o-mini", new LlmUsage(10, 5));
            id = request.Id;
        }

        // The request is finished and kept before any evaluator has answered: the hanging one is still waiting.
        var record = host.History.Find(id)!;
        Assert.Equal("ok", record.Status);
        Assert.Null(record.ErrorType);
        Assert.Equal(1, metrics.Sum("llm.requests", ("route", "/api/chat"), ("status", "ok")));

        await WaitAsync(() => host.History.Find(id)!.Scores.Count == 1);
        Assert.Equal("length", Assert.Single(host.History.Find(id)!.Scores).Name);
        Assert.Equal("ok", host.History.Find(id)!.Status);
        Assert.Equal(1, metrics.Sum("llm.evaluation.dropped", ("reason", "failed")));
        Assert.Equal(1, metrics.Sum("llm.evaluation.dropped", ("reason", "timeout")));
        Assert.Equal(0, metrics.Sum("llm.errors", ("route", "/api/chat")));

        // The failures are the evaluation requests', on their own route.
        var failed = host.History.Query(new LlmHistoryQuery { Route = "llm-apm.evaluation", Status = "error" });
        Assert.Equal(["_OTHER", "timeout"], failed.Select(r => r.ErrorType).Order(StringComparer.Ordinal));
        gate.SetResult([]);
    }

    [Fact]
    public async Task Offer_QueueFull_DropsAndCounts()
    {
        using var metrics = new MetricCollector();
        var gate = new TaskCompletionSource<IEnumerable<LlmScore>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = TestHost.Start(
            o =>
            {
                o.Evaluation.SampleRate = 1;
                o.Evaluation.QueueCapacity = 1;
            },
            build: b => b.Services.AddLlmApmEvaluator("blocks", (_, _) =>
            {
                started.TrySetResult();
                return new ValueTask<IEnumerable<LlmScore>>(gate.Task);
            }));

        using (host.Instrumentation.StartRequest("/api/q"))
        {
        }

        await started.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the first is being evaluated: the queue is empty
        for (var i = 0; i < 5; i++)
        {
            using var request = host.Instrumentation.StartRequest("/api/q");
        }

        Assert.Equal(4, metrics.Sum("llm.evaluation.dropped", ("reason", "queue_full"))); // one waits in the queue
        gate.SetResult([]);
    }

    [Fact]
    public async Task RefusalEvaluator_WithHandedContent_ScoresRefusalsNegativeAndSkipsRequestsWithoutContent()
    {
        using var metrics = new MetricCollector();
        using var host = TestHost.Start(o => o.Evaluation.SampleRate = 1, build: b => b.Services.AddLlmApmEvaluator(new LlmRefusalEvaluator()));
        string refused, answered, silent;
        using (var request = host.Instrumentation.StartRequest("/api/chat"))
        {
            request.SetEvaluationContent("How do I pick a lock?", "I'm sorry, but I can't help with that.");
            refused = request.Id;
        }

        using (var request = host.Instrumentation.StartRequest("/api/chat"))
        {
            request.SetEvaluationContent("Capital of France?", "Paris is the capital of France.");
            answered = request.Id;
        }

        using (var request = host.Instrumentation.StartRequest("/api/chat"))
        {
            silent = request.Id;
        }

        await WaitAsync(() => host.History.Find(answered)!.Scores.Count == 1 && metrics.Sum("llm.evaluation.dropped", ("reason", "no_content")) == 1);
        var refusal = Assert.Single(host.History.Find(refused)!.Scores);
        Assert.Equal(("refusal", "true", LlmScorePolarity.Negative, "LlmRefusalEvaluator"), (refusal.Name, refusal.Label, refusal.Polarity, refusal.Source));
        var fine = Assert.Single(host.History.Find(answered)!.Scores);
        Assert.Equal(("false", LlmScorePolarity.Positive), (fine.Label, fine.Polarity));
        Assert.Empty(host.History.Find(silent)!.Scores);

        // The handed content is for the evaluators only: capture is off, so the history keeps none.
        Assert.Null(host.History.Find(refused)!.Content);
        Assert.Equal(1, metrics.Sum("llm.scores", ("name", "refusal"), ("polarity", "negative"), ("route", "/api/chat")));
    }

    [Fact]
    public async Task UseLlmApm_CaptureOff_HandsTheCallsContentToEvaluatorsOnly()
    {
        var inputs = new ConcurrentBag<(string? Prompt, string? Completion)>();
        using var host = TestHost.Start(o => o.Evaluation.SampleRate = 1, build: b => b.Services.AddLlmApmEvaluator("reader", (input, _) =>
        {
            inputs.Add((input.Prompt, input.Completion));
            return ValueTask.FromResult<IEnumerable<LlmScore>>([LlmScore.Boolean("read", true)]);
        }));
        var client = new FakeChatClient().AsBuilder().UseLlmApm().Build(host.Services);

        string id;
        using (var request = host.Instrumentation.StartRequest("/api/chat"))
        {
            id = request.Id;
            await client.GetResponseAsync([new ChatMessage(ChatRole.System, "Be brief."), new ChatMessage(ChatRole.User, "Capital of France?")]);
        }

        await WaitAsync(() => host.History.Find(id)!.Scores.Count == 1);
        Assert.Equal(("Capital of France?", new FakeChatClient().Reply), Assert.Single(inputs));

        // Capture is off: the history and the spans keep none of it.
        Assert.Null(host.History.Find(id)!.Content);
    }

    [Fact]
    public async Task AddLlmApmEvaluator_JudgeFromTheHostsChatClient_ScoresAndCountsTheJudgeOnTheEvaluationRoute()
    {
        // The host's own chat client, registered in DI with UseLlmApm(), is the judge: made at the first evaluation.
        using var host = TestHost.Start(o => o.Evaluation.SampleRate = 1, build: b =>
        {
            b.Services.AddChatClient(new FakeChatClient { Reply = "yes" }).UseLlmApm();
            b.Services.AddLlmApmEvaluator(new YesNoJudgeEvaluator(), sp => new ChatConfiguration(sp.GetRequiredService<IChatClient>()));
        });

        string id;
        using (var request = host.Instrumentation.StartRequest("/api/chat"))
        {
            id = request.Id;
            request.SetEvaluationContent("Capital of France?", "Paris.");
        }

        await WaitAsync(() => host.History.Find(id)!.Scores.Count == 1);
        var score = Assert.Single(host.History.Find(id)!.Scores);
        Assert.Equal(("relevant", "true", LlmScorePolarity.Positive), (score.Name, score.Label, score.Polarity));

        // The judge's call is a request of the evaluations' route, with its model and cost; none on the evaluated route.
        var judged = Assert.Single(host.History.Query(new LlmHistoryQuery { Route = "llm-apm.evaluation" }));
        Assert.Equal(FakeChatClient.DefaultModel, judged.Model);
        Assert.True(judged.CostUsd > 0);
        Assert.Contains(judged.Steps, s => s.Kind == LlmStepKinds.LlmCall);
        Assert.Empty(host.History.Find(id)!.Steps);
    }

    [Theory]
    [InlineData("Relevance", "relevance")]
    [InlineData("Tool Call Accuracy", "tool_call_accuracy")]
    [InlineData("", "evaluation")]
    public void ScoreName_MetricNames_BecomeValidScoreNames(string metric, string expected)
        => Assert.Equal(expected, ExtensionsAILlmEvaluator.ScoreName(metric));

    private static async Task WaitAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "the evaluations did not finish");
            await Task.Delay(20);
        }
    }
}

public class LlmEvaluationOptionsTests
{
    [Theory]
    [InlineData("SampleRate", "1.5")]
    [InlineData("SampleRate", "-0.1")]
    [InlineData("QueueCapacity", "0")]
    [InlineData("Timeout", "00:00:00")]
    public void Start_BadEvaluationOption_FailsNamingTheKey(string option, string value)
    {
        var key = $"LlmApm:Evaluation:{option}";
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => TestHost.Start(build: b =>
            Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(b.Configuration, new Dictionary<string, string?> { [key] = value })));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }
}

/// <summary>An evaluator that needs a judge model: it asks the judge and reads a yes or a no.</summary>
internal sealed class YesNoJudgeEvaluator : IEvaluator
{
    public IReadOnlyCollection<string> EvaluationMetricNames { get; } = ["relevant"];

    public async ValueTask<EvaluationResult> EvaluateAsync(
        IEnumerable<ChatMessage> messages,
        ChatResponse modelResponse,
        ChatConfiguration? chatConfiguration = null,
        IEnumerable<EvaluationContext>? additionalContext = null,
        CancellationToken cancellationToken = default)
    {
        var judge = chatConfiguration ?? throw new InvalidOperationException("no judge");
        var verdict = await judge.ChatClient.GetResponseAsync($"Is '{modelResponse.Text}' relevant? Answer yes or no.", cancellationToken: cancellationToken);
        var yes = verdict.Text.StartsWith("yes", StringComparison.OrdinalIgnoreCase);
        return new EvaluationResult(new BooleanMetric("relevant", yes) { Interpretation = new EvaluationMetricInterpretation(failed: !yes) });
    }
}
