namespace Hypervisor.ShadowMmu.Statistics;

/// <summary>Why a guest fault was retried instead of installing an SPTE (<c>RET_PF_RETRY</c>).</summary>
public enum RetryReason
{
    /// <summary>An invalidation covering the gfn was in progress under the MMU lock.</summary>
    InvalidationInProgress,
    /// <summary><c>InvalidateSeq</c> moved since it was sampled: an invalidation completed meanwhile.</summary>
    SequenceChanged,
    /// <summary>Another vCPU changed the SPTE between the walk and the install.</summary>
    InstallRaced,
    /// <summary>The notifier is unregistered (or being re-registered): no coherent install is possible.</summary>
    NotifierDetached,
    /// <summary>
    /// The lockless pre-check (<c>mmu_invalidate_retry_gfn_unsafe</c>, before the host walk or before taking the MMU
    /// lock) already saw an overlapping invalidation in progress or a moved sequence.
    /// </summary>
    PreCheck,
}
