using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// A deterministic run: every thread of the run under one <see cref="ControlledScheduler"/>, time virtual, the
/// interleaving chosen by <see cref="Scheduler"/>'s strategy and seed.
/// </summary>
public sealed record ScheduleSettings
{
    /// <summary>The strategy and its limits; its seed is replaced by <see cref="Seed"/>.</summary>
    public ScheduleOptions Scheduler { get; init; } = new();

    /// <summary>The scheduler's seed; null: the run's seed.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Virtual time a guest access takes; a vCPU consumes it in slices of <see cref="AccessesPerSlice"/>.</summary>
    public TimeSpan AccessCost { get; init; } = TimeSpan.FromMicroseconds(1);

    /// <summary>Guest accesses a vCPU runs between two virtual-time slices (scheduling points in guest mode).</summary>
    public int AccessesPerSlice { get; init; } = 16;

    /// <summary>Stop the run at the first violation (exploration): the rest of the run cannot make it clean.</summary>
    public bool StopAtFirstViolation { get; init; }

    /// <summary>Called on the runner's thread with the scheduler once the run ended (its trace, decisions, hash).</summary>
    public Action<ControlledScheduler>? Completed { get; init; }
}
