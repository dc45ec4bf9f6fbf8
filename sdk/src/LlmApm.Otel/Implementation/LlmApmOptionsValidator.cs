using LlmApm.Otel.History;
using Microsoft.Extensions.Options;

namespace LlmApm.Otel;

/// <summary>Checks <see cref="LlmApmOptions"/> at start-up; each failure names the configuration key to fix.</summary>
internal sealed class LlmApmOptionsValidator : IValidateOptions<LlmApmOptions>
{
    private const string Section = LlmApmServices.SectionName;

    public ValidateOptionsResult Validate(string? name, LlmApmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.HistoryCapacity <= 0)
        {
            failures.Add($"{Section}:{nameof(LlmApmOptions.HistoryCapacity)} must be greater than 0 (is {options.HistoryCapacity}).");
        }

        if (options.MaxSourceStepsPerRequest < 0)
        {
            failures.Add($"{Section}:{nameof(LlmApmOptions.MaxSourceStepsPerRequest)} must be 0 or more (is {options.MaxSourceStepsPerRequest}).");
        }

        foreach (var (source, kind) in options.StepSources)
        {
            if (string.IsNullOrWhiteSpace(source) || source == "*")
            {
                failures.Add($"{Section}:{nameof(LlmApmOptions.StepSources)} has an entry without a source name.");
            }
            else if (!string.IsNullOrEmpty(kind) && !LlmStepSources.IsValidKind(kind))
            {
                failures.Add($"{Section}:{nameof(LlmApmOptions.StepSources)}:{source} must be a kind of at most 32 letters, digits, '_' or '-' (is '{kind}').");
            }
        }

        if (options.OrphanTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Section}:{nameof(LlmApmOptions.OrphanTimeout)} must be positive (is {options.OrphanTimeout}).");
        }

        foreach (var (model, price) in options.Prices)
        {
            var key = $"{Section}:{nameof(LlmApmOptions.Prices)}:{model}";
            if (string.IsNullOrWhiteSpace(model))
            {
                failures.Add($"{Section}:{nameof(LlmApmOptions.Prices)} has an entry without a model name.");
            }
            else if (price is null)
            {
                failures.Add($"{key} has no price.");
            }
            else
            {
                Negative(failures, key, nameof(LlmModelPrice.InputPerMillion), price.InputPerMillion);
                Negative(failures, key, nameof(LlmModelPrice.OutputPerMillion), price.OutputPerMillion);
                Negative(failures, key, nameof(LlmModelPrice.CachedInputPerMillion), price.CachedInputPerMillion);
                Negative(failures, key, nameof(LlmModelPrice.CacheWriteInputPerMillion), price.CacheWriteInputPerMillion);
            }
        }

        for (var i = 0; i < options.Models.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Models[i]))
            {
                failures.Add($"{Section}:{nameof(LlmApmOptions.Models)}:{i} must be a model name, not empty.");
            }
        }

        for (var i = 0; i < options.Tenants.Count; i++)
        {
            if (options.Tenants[i] is not { } tenant || !LlmAttribution.IsValidId(tenant))
            {
                failures.Add($"{Section}:{nameof(LlmApmOptions.Tenants)}:{i} must be a tenant id of 1 to {LlmAttribution.MaxIdLength} characters without control characters.");
            }
        }

        var evaluation = options.Evaluation;
        var evaluationKey = $"{Section}:{nameof(LlmApmOptions.Evaluation)}";
        if (!(evaluation.SampleRate is >= 0 and <= 1))
        {
            failures.Add($"{evaluationKey}:{nameof(LlmEvaluationOptions.SampleRate)} must be from 0 to 1 (is {evaluation.SampleRate}).");
        }

        if (evaluation.QueueCapacity <= 0)
        {
            failures.Add($"{evaluationKey}:{nameof(LlmEvaluationOptions.QueueCapacity)} must be greater than 0 (is {evaluation.QueueCapacity}).");
        }

        if (evaluation.Timeout <= TimeSpan.Zero)
        {
            failures.Add($"{evaluationKey}:{nameof(LlmEvaluationOptions.Timeout)} must be positive (is {evaluation.Timeout}).");
        }

        if (string.IsNullOrWhiteSpace(evaluation.Route))
        {
            failures.Add($"{evaluationKey}:{nameof(LlmEvaluationOptions.Route)} must be a route name, not empty.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Negative(List<string> failures, string key, string field, decimal? value)
    {
        if (value < 0)
        {
            failures.Add($"{key}:{field} must not be negative (is {value}).");
        }
    }
}
