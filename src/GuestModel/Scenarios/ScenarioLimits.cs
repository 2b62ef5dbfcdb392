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

    /// <summary>Simulator bytes per host frame, allocated up front: the frame (content and state, 16) and its reverse-map slot (2 + 4).</summary>
    public const long BytesPerHostFrame = 22;

    /// <summary>Simulator bytes per swap slot, allocated up front: its use count.</summary>
    public const long BytesPerSwapSlot = 4;

    /// <summary>
    /// Simulator bytes per guest page, allocated up front: the oracle's expected value and its epoch (12) and, for a
    /// shadow-mode guest (any guest can be run with <c>--mmu shadow</c>), the shadow reverse-map head (8), the
    /// write-tracking state (4) and the guest page-table slot (8).
    /// </summary>
    public const long BytesPerGuestPage = 32;

    /// <summary>
    /// What the tables of one scenario may take: half the memory this process may use (the machine's, or its
    /// container's limit), so that a scenario that validates is never one whose frame table cannot be allocated.
    /// </summary>
    public static long MemoryBudget { get; } = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    /// <summary>Bytes of frame, swap and guest-page tables a scenario allocates before it runs.</summary>
    public static long TableBytes(long ram, long swap, long guestMemory) =>
        (ram / ScenarioUnits.PageSize * BytesPerHostFrame) + (swap / ScenarioUnits.PageSize * BytesPerSwapSlot) +
        (guestMemory / ScenarioUnits.PageSize * BytesPerGuestPage);

    /// <summary>Null when the tables of a host and its guests fit in <see cref="MemoryBudget"/>, else what was expected.</summary>
    public static string? CheckTables(long ram, long swap, long guestMemory)
    {
        var bytes = TableBytes(ram, swap, guestMemory);
        return bytes <= MemoryBudget
            ? null
            : $"a host whose tables fit in this machine's memory (at most {Approximate(MemoryBudget)}, half of what this " +
              $"process may use), got ram {ScenarioUnits.FormatSize(ram)}, swap {ScenarioUnits.FormatSize(swap)} and " +
              $"{ScenarioUnits.FormatSize(guestMemory)} of guest memory, whose tables need {Approximate(bytes)} " +
              $"({BytesPerHostFrame} B per frame, {BytesPerSwapSlot} B per swap slot, {BytesPerGuestPage} B per guest page)";
    }

    private static string Approximate(long bytes) => bytes >= 1L << 30
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.#}GiB")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.#}MiB");

    /// <summary>Null when <paramref name="duration"/> can be a run's duration, else what was expected (for a message).</summary>
    public static string? CheckTimer(TimeSpan duration) =>
        duration <= MaxTimer ? null : $"a duration of at most {ScenarioUnits.FormatDuration(MaxTimer)} (about 596h, a timer's limit)";
}
