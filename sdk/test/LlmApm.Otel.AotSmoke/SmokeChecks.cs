namespace LlmApm.Otel.AotSmoke;

/// <summary>Counts the smoke checks and prints each failure with what was seen.</summary>
internal sealed class SmokeChecks
{
    private int passed;
    private int failed;

    public void Check(string name, bool ok, string seen)
    {
        if (ok)
        {
            this.passed++;
            Console.WriteLine($"  ok   {name}");
        }
        else
        {
            this.failed++;
            Console.WriteLine($"  FAIL {name}: {seen}");
        }
    }

    /// <summary>Prints the summary line and returns the exit code.</summary>
    public int Report()
    {
        Console.WriteLine($"aot-smoke: {this.passed} passed, {this.failed} failed");
        return this.failed == 0 && this.passed > 0 ? 0 : 1;
    }
}
