namespace Hypervisor.GuestModel.Scenarios;

/// <summary>
/// The bounds a scenario must stay within to be runnable, checked once by <see cref="ScenarioLoader"/>: so
/// <c>validate</c>, <c>run</c> and the daemon accept exactly the same files, and a file that validates never fails
/// later on a limit of the runtime or of the simulated host.
/// </summary>
public static class ScenarioLimits
{
    /// <summary>Largest scenario file read (1 MiB: a thousand guests take about 100 KiB).</summary>
    public const long MaxFileBytes = 1L << 20;

    /// <summary>
    /// Deepest nesting of YAML lists and mappings. A scenario needs five; YamlDotNet builds its node tree recursively,
    /// one stack frame per level, so tens of thousands of levels would overflow the stack.
    /// </summary>
    public const int MaxNesting = 64;

    /// <summary>Errors printed per file; the rest are counted in one "... and N more" line.</summary>
    public const int MaxPrintedErrors = 20;

    /// <summary>vCPU and activity threads of one run together (each is a thread; see <c>RunControl</c>).</summary>
    public const int MaxThreads = 4096;

    /// <summary>Most model CPUs of a host (each IPI and RCU grace period visits every one).</summary>
    public const int MaxHostCpus = 4096;

    /// <summary>Longest duration anywhere in a scenario (run time, activity times): a .NET timer's limit, 2^31 - 1 ms (about 596 h).</summary>
    public static readonly TimeSpan MaxTimer = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>Largest host RAM: frame numbers are <see cref="int"/>s (<c>PhysicalMemory</c> holds at most 2^31 - 2 frames).</summary>
    public const long MaxHostRam = (int.MaxValue - 1L) * ScenarioUnits.PageSize;

    /// <summary>Largest swap device: swap slots are <see cref="int"/>s (<c>SwapDevice</c> holds at most 2^31 - 1 slots).</summary>
    public const long MaxSwap = (long)int.MaxValue * ScenarioUnits.PageSize;

    /// <summary>Null when <paramref name="duration"/> can be a run's duration, else what was expected (for a message).</summary>
    public static string? CheckTimer(TimeSpan duration) =>
        duration <= MaxTimer ? null : $"a duration of at most {ScenarioUnits.FormatDuration(MaxTimer)} (about 596h, a timer's limit)";
}
