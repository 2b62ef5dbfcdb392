namespace Hypervisor.Host.Configuration;

/// <summary>The range checks the option validators share, each adding one line <c>key: expected ..., got ...</c>.</summary>
internal static class OptionChecks
{
    public static void Positive(List<string> problems, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            problems.Add($"{key}: expected a positive time span such as 00:00:10, got {value}");
        }
    }

    public static void AtLeast(List<string> problems, string key, long value, long minimum)
    {
        if (value < minimum)
        {
            problems.Add($"{key}: expected an integer >= {minimum}, got {value}");
        }
    }
}
