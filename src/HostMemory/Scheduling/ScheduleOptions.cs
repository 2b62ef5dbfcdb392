namespace Hypervisor.HostMemory.Scheduling;

/// <summary>How a <see cref="ControlledScheduler"/> chooses and what it records.</summary>
public sealed record ScheduleOptions
{
    /// <summary>Seeds every choice the strategy makes.</summary>
    public ulong Seed { get; init; }

    public ScheduleStrategyKind Strategy { get; init; } = ScheduleStrategyKind.Random;

    /// <summary>Random walk: the chance, at each scheduling point, that another thread is picked.</summary>
    public double SwitchProbability { get; init; } = 1.0 / 8;

    /// <summary>PCT: the bug depth d (d - 1 priority change points).</summary>
    public int Depth { get; init; } = 3;

    /// <summary>PCT: the expected number of steps, over which the change points are spread.</summary>
    public long ExpectedSteps { get; init; } = 20_000;

    /// <summary>Guided: the decisions to replay, in step order.</summary>
    public IReadOnlyList<ScheduleDecision> Decisions { get; init; } = [];

    /// <summary>After this many steps the scheduler calls <see cref="ControlledScheduler.StepLimitReached"/> once.</summary>
    public long MaxSteps { get; init; } = long.MaxValue;

    /// <summary>Keep every step (for whole-trace comparisons and logs); otherwise only the hash and the last steps.</summary>
    public bool RecordTrace { get; init; }

    /// <summary>How many of the last steps are kept for printing the interleaving around a violation.</summary>
    public int RecentSteps { get; init; } = 400;

    /// <summary>Virtual time every step takes, in 100 ns ticks (a lock acquire, an atomic: a few hundred nanoseconds).</summary>
    public long StepTicks { get; init; } = 1;

    /// <summary>Wall-clock time without a step after which the scheduler gives up control (a thread blocked outside it).</summary>
    public TimeSpan Watchdog { get; init; } = TimeSpan.FromSeconds(30);
}
