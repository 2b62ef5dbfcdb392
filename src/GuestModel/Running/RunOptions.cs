using Hypervisor.GuestModel.Events;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.GuestModel.Running;

/// <summary>Overrides and wiring for one run of a scenario.</summary>
public sealed record RunOptions
{
    /// <summary>Replaces the scenario's seed.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Replaces the scenario's duration.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Replaces the scenario's notifier API profile (to compare legacy and modern on one scenario).</summary>
    public NotifierProfile? Profile { get; init; }

    /// <summary>Replaces every guest's MMU mode (to run any scenario in TDP or shadow mode).</summary>
    public MmuMode? Mmu { get; init; }

    /// <summary>
    /// Check after every munmap, madvise and mprotect that no SPTE or vCPU TLB entry still maps what the host no longer
    /// maps (<c>--check-after-ops</c>); without it, one operation in <see cref="GuestInstance.AfterOperationSampling"/>
    /// is checked.
    /// </summary>
    public bool CheckAfterOps { get; init; }

    /// <summary>A broken variant from <see cref="MutationCatalog"/>, or null.</summary>
    public string? Mutation { get; init; }

    /// <summary>Where events go; null to discard them.</summary>
    public EventSink? Events { get; init; }

    /// <summary>At most this many violation events per kind reach the event stream (all are counted).</summary>
    public int ViolationEventsPerKind { get; init; } = 1000;

    /// <summary>Run deterministically under a controlled scheduler (<c>run --deterministic</c>); null: free-running.</summary>
    public ScheduleSettings? Schedule { get; init; }

    /// <summary>Activities (by index in the scenario) left out of the run: a shrunk schedule's fewer threads.</summary>
    public IReadOnlyList<int> ExcludedActivities { get; init; } = [];

    /// <summary>
    /// Host CPUs (threads) the vCPUs of a free-running run share, a time slice at a time; null:
    /// <see cref="VcpuScheduler.DefaultCpus"/>.
    /// </summary>
    public int? VcpuCpus { get; init; }

    /// <summary>A vCPU that retried more faults than this within one statistics interval reports a burst.</summary>
    public long RetryBurstThreshold { get; init; } = 1000;
}
