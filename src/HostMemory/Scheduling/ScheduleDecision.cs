namespace Hypervisor.HostMemory.Scheduling;

/// <summary>
/// A point where a schedule departed from the default choice (keep running the current thread; when it cannot run,
/// the lowest-numbered thread that can): at step <paramref name="Step"/>, thread <paramref name="Thread"/> ran instead.
/// A run is fully described by its seed and its decisions, which is what a replay token stores.
/// </summary>
public readonly record struct ScheduleDecision(long Step, int Thread);
