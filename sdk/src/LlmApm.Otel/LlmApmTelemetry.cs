namespace LlmApm.Otel;

/// <summary>
/// The names LLM-APM publishes: its <see cref="System.Diagnostics.ActivitySource"/> and
/// <see cref="System.Diagnostics.Metrics.Meter"/>, span names, attribute names and metric names.
/// These names are a public contract: dashboards, alert rules and users' queries depend on them. The names of the
/// OpenTelemetry GenAI conventions that LLM-APM also emits (<c>gen_ai.*</c>) are the conventions', listed in docs/metrics.md.
/// </summary>
public static class LlmApmTelemetry
{
    /// <summary>The name of the activity source that emits request and step spans: <c>LlmApm</c>.</summary>
    public const string SourceName = "LlmApm";

    /// <summary>The name of the meter that emits the <c>llm.*</c> instruments: <c>LlmApm</c>.</summary>
    public const string MeterName = "LlmApm";

    /// <summary>The prefix of the request span name; the span is named <c>llm.request {route}</c>.</summary>
    public const string RequestSpanPrefix = "llm.request";

    /// <summary>Span and metric attribute names.</summary>
    public static class Attributes
    {
        /// <summary><c>llm.request.id</c>: the request's id.</summary>
        public const string RequestId = "llm.request.id";

        /// <summary><c>llm.route</c>: the route template of the request.</summary>
        public const string Route = "llm.route";

        /// <summary><c>llm.model</c>: the model of the request, as reported.</summary>
        public const string Model = "llm.model";

        /// <summary><c>llm.step.name</c>: the name of a step.</summary>
        public const string StepName = "llm.step.name";

        /// <summary><c>llm.usage.input_tokens</c>: input tokens of the whole request.</summary>
        public const string UsageInputTokens = "llm.usage.input_tokens";

        /// <summary><c>llm.usage.output_tokens</c>: output tokens of the whole request.</summary>
        public const string UsageOutputTokens = "llm.usage.output_tokens";

        /// <summary><c>llm.usage.cached_input_tokens</c>: cached input tokens of the whole request.</summary>
        public const string UsageCachedInputTokens = "llm.usage.cached_input_tokens";

        /// <summary><c>llm.usage.cache_write_input_tokens</c>: input tokens of the whole request written to the provider's cache.</summary>
        public const string UsageCacheWriteInputTokens = "llm.usage.cache_write_input_tokens";

        /// <summary><c>llm.usage.reasoning_tokens</c>: reasoning tokens of the whole request.</summary>
        public const string UsageReasoningTokens = "llm.usage.reasoning_tokens";

        /// <summary><c>llm.usage.estimated</c>: true when some tokens were estimated locally.</summary>
        public const string UsageEstimated = "llm.usage.estimated";

        /// <summary><c>llm.cost.usd</c>: the cost of the request in US dollars.</summary>
        public const string CostUsd = "llm.cost.usd";

        /// <summary><c>llm.cost.unpriced</c>: true when a model used by the request has no price.</summary>
        public const string CostUnpriced = "llm.cost.unpriced";

        /// <summary><c>llm.status</c>: <c>ok</c> or <c>error</c>.</summary>
        public const string Status = "llm.status";

        /// <summary><c>error.type</c>: the classified error type.</summary>
        public const string ErrorType = "error.type";

        /// <summary><c>user.id</c> (OpenTelemetry's user attribute): the user the request was made for. Never a metric tag.</summary>
        public const string UserId = "user.id";

        /// <summary><c>llm.tenant.id</c>: the tenant the request was made for.</summary>
        public const string TenantId = "llm.tenant.id";

        /// <summary><c>llm.property.</c>: the prefix of a request's custom properties (<c>llm.property.{key}</c>).</summary>
        public const string PropertyPrefix = "llm.property.";

        /// <summary><c>llm.price</c>: on an LLM call's step, the price entry its cost used.</summary>
        public const string Price = "llm.price";

        /// <summary>Metric tag <c>tenant</c>: bounded, see <see cref="LlmApmOptions.Tenants"/>.</summary>
        public const string TagTenant = "tenant";

        /// <summary>Metric tag <c>route</c>.</summary>
        public const string TagRoute = "route";

        /// <summary>Metric tag <c>model</c>.</summary>
        public const string TagModel = "model";

        /// <summary>Metric tag <c>status</c>.</summary>
        public const string TagStatus = "status";

        /// <summary>Metric tag <c>step</c>.</summary>
        public const string TagStep = "step";

        /// <summary>Metric tag <c>type</c> (token type).</summary>
        public const string TagTokenType = "type";

        /// <summary>Metric tag <c>error_type</c>.</summary>
        public const string TagErrorType = "error_type";

        /// <summary><c>budget</c>: the metric tag of <c>llm.budget.spent_ratio</c>, a budget's configured name.</summary>
        public const string TagBudget = "budget";
    }

    /// <summary>Instrument names of the <c>LlmApm</c> meter.</summary>
    public static class Metrics
    {
        /// <summary><c>llm.requests</c> → <c>llm_requests_total</c>.</summary>
        public const string Requests = "llm.requests";

        /// <summary><c>llm.request.latency</c> → <c>llm_request_latency_seconds</c>.</summary>
        public const string RequestLatency = "llm.request.latency";

        /// <summary><c>llm.step.latency</c> → <c>llm_step_latency_seconds</c>.</summary>
        public const string StepLatency = "llm.step.latency";

        /// <summary><c>llm.tokens</c> → <c>llm_tokens_total</c>.</summary>
        public const string Tokens = "llm.tokens";

        /// <summary><c>llm.cost.usd</c> → <c>llm_cost_usd_total</c>.</summary>
        public const string CostUsd = "llm.cost.usd";

        /// <summary><c>llm.errors</c> → <c>llm_errors_total</c>.</summary>
        public const string Errors = "llm.errors";

        /// <summary><c>llm.time_to_first_token</c> → <c>llm_time_to_first_token_seconds</c>.</summary>
        public const string TimeToFirstToken = "llm.time_to_first_token";

        /// <summary><c>llm.requests.active</c> → <c>llm_requests_active</c>.</summary>
        public const string RequestsActive = "llm.requests.active";

        /// <summary><c>llm.price.misses</c> → <c>llm_price_misses_total</c>.</summary>
        public const string PriceMisses = "llm.price.misses";

        /// <summary><c>llm.history.dropped</c> → <c>llm_history_dropped_total</c>.</summary>
        public const string HistoryDropped = "llm.history.dropped";

        /// <summary><c>llm.scores</c> → <c>llm_scores_total</c>.</summary>
        public const string Scores = "llm.scores";

        /// <summary><c>llm.evaluation.dropped</c> → <c>llm_evaluation_dropped_total</c>.</summary>
        public const string EvaluationDropped = "llm.evaluation.dropped";

        /// <summary><c>llm.budget.spent_ratio</c>: what each budget's window has spent over its limit.</summary>
        public const string BudgetSpentRatio = "llm.budget.spent_ratio";
    }

    /// <summary>The step names of a typical LLM request.</summary>
    public static class Steps
    {
        /// <summary><c>preprocessing</c>.</summary>
        public const string Preprocessing = "preprocessing";

        /// <summary><c>llm_api_call</c>: the call to the model, made by <c>UseLlmApm()</c>.</summary>
        public const string LlmApiCall = "llm_api_call";

        /// <summary><c>embedding_call</c>: the call to an embedding model, made by <c>UseLlmApm()</c> on an embedding generator.</summary>
        public const string EmbeddingCall = "embedding_call";

        /// <summary><c>response_parsing</c>.</summary>
        public const string ResponseParsing = "response_parsing";
    }
}
