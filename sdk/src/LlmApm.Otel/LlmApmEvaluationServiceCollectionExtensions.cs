using LlmApm.Otel;
using Microsoft.Extensions.AI.Evaluation;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds online evaluators: they run off the request path on the sampled fraction
/// (<see cref="LlmEvaluationOptions.SampleRate"/>) of finished requests and attach their results as scores.</summary>
public static class LlmApmEvaluationServiceCollectionExtensions
{
    /// <summary>Adds a Microsoft.Extensions.AI.Evaluation evaluator that needs no judge model, such as
    /// <see cref="LlmRefusalEvaluator"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="evaluator">The evaluator.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApmEvaluator(this IServiceCollection services, IEvaluator evaluator)
        => AddLlmApmEvaluator(services, evaluator, (ChatConfiguration?)null);

    /// <summary>Adds a Microsoft.Extensions.AI.Evaluation evaluator; each of its metrics becomes a score of the
    /// metric's name (lowercase), negative when its interpretation failed. It is given the request's prompt and
    /// completion, and is skipped for a request without them (content capture off and nothing handed to
    /// <see cref="LlmRequest.SetEvaluationContent"/>).</summary>
    /// <param name="services">The services.</param>
    /// <param name="evaluator">The evaluator, for example <see cref="LlmRefusalEvaluator"/>.</param>
    /// <param name="judge">The chat configuration of an evaluator that needs a judge model, or <c>null</c>.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApmEvaluator(this IServiceCollection services, IEvaluator evaluator, ChatConfiguration? judge)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(evaluator);
        services.AddSingleton<LlmEvaluator>(new ExtensionsAILlmEvaluator(evaluator, judge));
        return services;
    }

    /// <summary>Adds a Microsoft.Extensions.AI.Evaluation evaluator whose judge model is a service of the host, such as
    /// the chat client it registered: <paramref name="judge"/> is called once, at the first evaluation (off the request
    /// path). A judge client with <c>UseLlmApm()</c> has its calls counted on the evaluations' own route.</summary>
    /// <param name="services">The services.</param>
    /// <param name="evaluator">The evaluator.</param>
    /// <param name="judge">Makes the judge's chat configuration from the host's services.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApmEvaluator(this IServiceCollection services, IEvaluator evaluator, Func<IServiceProvider, ChatConfiguration> judge)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(judge);
        services.AddSingleton<LlmEvaluator>(sp => new ExtensionsAILlmEvaluator(evaluator, () => judge(sp)));
        return services;
    }

    /// <summary>Adds a host's own evaluator: a delegate given each sampled request (content included when there is
    /// some) that returns its scores.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The evaluator's name, for diagnostics.</param>
    /// <param name="evaluate">The evaluation.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddLlmApmEvaluator(
        this IServiceCollection services,
        string name,
        Func<LlmEvaluationInput, CancellationToken, ValueTask<IEnumerable<LlmScore>>> evaluate)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(evaluate);
        services.AddSingleton<LlmEvaluator>(new DelegateLlmEvaluator(name, evaluate));
        return services;
    }
}
