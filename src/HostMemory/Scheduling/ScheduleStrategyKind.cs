namespace Hypervisor.HostMemory.Scheduling;

/// <summary>How a controlled scheduler picks the next thread.</summary>
public enum ScheduleStrategyKind
{
    /// <summary>
    /// Random walk: at each scheduling point, with probability <see cref="ScheduleOptions.SwitchProbability"/>, run a
    /// thread picked uniformly among those that can run (as Coyote's and loom's random schedulers, with a switch rate
    /// so that long runs are not all context switches).
    /// </summary>
    Random = 0,

    /// <summary>
    /// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): random thread priorities, always run the
    /// highest-priority runnable thread, and lower the running thread's priority at <c>depth - 1</c> random steps. A
    /// bug of depth d is found with probability at least 1/(n k^(d-1)) per schedule.
    /// </summary>
    Pct,

    /// <summary>Replays a recorded list of decisions (a replay token); between decisions, the current thread keeps running.</summary>
    Guided,
}
