namespace Hypervisor.Host.Analyze.Input;

/// <summary>The catalogue names as cached strings, so counting events by name allocates nothing per line.</summary>
internal static class EventNames
{
    private static readonly string[] Names = [.. Enum.GetValues<LogEventKind>().Order().Select(k => k.ToString())];

    public static string Of(LogEventKind kind) => Names[(int)kind];
}
