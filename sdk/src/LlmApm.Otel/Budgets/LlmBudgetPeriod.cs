namespace LlmApm.Otel;

/// <summary>The window of a budget: a UTC calendar hour, day or month; each window starts from zero.</summary>
public enum LlmBudgetPeriod
{
    /// <summary>A UTC clock hour.</summary>
    Hour,

    /// <summary>A UTC calendar day.</summary>
    Day,

    /// <summary>A UTC calendar month.</summary>
    Month,
}
