namespace LlmApm.Otel;

/// <summary>What a budget counts: every LLM call, or the calls of a tenant, a user, a route or a model.</summary>
public enum LlmBudgetScope
{
    /// <summary>Every LLM call of the service.</summary>
    Global,

    /// <summary>The calls of requests with a tenant (<see cref="LlmRequest.TenantId"/>).</summary>
    Tenant,

    /// <summary>The calls of requests with a user (<see cref="LlmRequest.UserId"/>).</summary>
    User,

    /// <summary>The calls of requests by route (<see cref="LlmRequest.Route"/>).</summary>
    Route,

    /// <summary>The calls by model, as the <c>model</c> metric tag names it (the priced family, such as <c>gpt-4o</c>).</summary>
    Model,
}
