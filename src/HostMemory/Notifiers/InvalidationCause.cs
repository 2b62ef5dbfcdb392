namespace Hypervisor.HostMemory.Notifiers;

/// <summary>
/// The host operation behind a notifier callback. Not part of the kernel API (which has only the coarse
/// <see cref="NotifierEvent"/>); carried so that statistics and logs can say which activity cost what.
/// </summary>
public enum InvalidationCause : byte
{
    Munmap,
    MadviseDontNeed,
    Mprotect,
    Fork,
    CopyOnWrite,
    Exit,
    Reclaim,
    Writeback,
    Migration,
    KsmMerge,
    OomReap,
    /// <summary><c>__xip_unmap</c>: a hole of an execute-in-place file got a block; its sparse-page mappings go.</summary>
    XipUnmap,
    /// <summary><c>try_to_unmap_cluster</c>: reclaim unmapping a cluster of a nonlinear file mapping.</summary>
    UnmapCluster,
    Other,
    /// <summary><c>__split_huge_pmd</c>: a PMD mapping became 512 PTEs (same pages).</summary>
    ThpSplit,
    /// <summary>khugepaged <c>collapse_huge_page</c>: 512 PTEs replaced by one PMD mapping a new huge page.</summary>
    ThpCollapse,
}
