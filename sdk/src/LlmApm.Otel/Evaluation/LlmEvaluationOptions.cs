namespace LlmApm.Otel;

/// <summary>Options of online evaluation: evaluators added with <c>AddLlmApmEvaluator()</c> run off the request path on
/// a sample of finished requests and attach their results as scores. Configuration: <c>LlmApm:Evaluation:*</c>.</summary>
public sealed class LlmEvaluationOptions
{
    /// <summary>Gets or sets the fraction of finished requests evaluated, 0 to 1. Default: <c>0.1</c>.</summary>
    public double SampleRate { get; set; } = 0.1;

    /// <summary>Gets or sets how many sampled requests may wait for evaluation; any more are dropped and counted in
    /// <c>llm_evaluation_dropped_total{reason="queue_full"}</c>. Default: <c>100</c>.</summary>
    public int QueueCapacity { get; set; } = 100;

    /// <summary>Gets or sets how long one evaluator may take for one request before its result is given up
    /// (<c>reason="timeout"</c>). Default: 30 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets the route of the requests evaluations run in: an evaluator's own LLM calls (a judge model
    /// through a client with <c>UseLlmApm()</c>) are counted under it, never under the evaluated route, and requests on
    /// it are never evaluated. Default: <c>llm-apm.evaluation</c>.</summary>
    public string Route { get; set; } = "llm-apm.evaluation";
}
