namespace Hypervisor.HostMemory;

/// <summary>Host-side event counters, summed over every address space of a <see cref="HostSystem"/>.</summary>
public enum HostCounter
{
    AnonymousFaults,
    ZeroPageMaps,
    FileFaults,
    SwapIns,
    CowFaults,
    WriteProtectReuses,
    GetUserPages,
    HostReads,
    HostWrites,
    Forks,
    Munmaps,
    MadviseDontNeeds,
    Mprotects,
    Exits,
    OutOfMemory,
    InvalidateRangeStarts,
    InvalidatePages,
    RefusedStarts,
    SwapOuts,
    Writebacks,
    Migrations,
    KsmMerges,
    KsmUnmerges,
    OomReaps,
    AgingScans,
    YoungFromSecondary,
    /// <summary>Page-table pages allocated (<c>__pte_alloc</c>), each charged one host frame.</summary>
    PageTablesAllocated,
    /// <summary>Page-table pages freed through an mmu_gather after the TLB flush.</summary>
    PageTablesFreed,
    /// <summary>Host TLB flushes of mmu_gather batches (<c>tlb_flush_mmu</c> / <c>tlb_finish_mmu</c>).</summary>
    HostTlbFlushes,
    /// <summary>Swap-in faults that found the page still in the swap cache (minor faults on the same frame).</summary>
    SwapCacheHits,
    /// <summary>Rmap walks (<c>rmap_walk</c>) run by reclaim, aging, writeback and migration.</summary>
    RmapWalks,
    /// <summary>Reclaim's attempts skipped because the rmap lock or page lock was contended (<c>try_lock</c>).</summary>
    RmapContended,
    /// <summary>Sparse-page mappings removed by <c>__xip_unmap</c> when a hole of an execute-in-place file got a block.</summary>
    XipUnmaps,
    /// <summary>PTEs of nonlinear file mappings unmapped by reclaim's <c>try_to_unmap_cluster</c>.</summary>
    ClusterUnmaps,
    /// <summary>Lockless page-table walks (<c>gup_fast</c>, <c>host_pfn_mapping_level</c>).</summary>
    LocklessWalks,
    /// <summary><c>gup_fast</c> calls that returned a page without the mmap lock or a page-table lock.</summary>
    GupFastHits,
    /// <summary><c>gup_fast</c> calls that gave up (no table, not present, not writable, a recheck failed): the caller falls back.</summary>
    GupFastFallbacks,
    /// <summary>Interrupts sent to model CPUs (each <c>smp_call_function</c> to all counts one per CPU).</summary>
    IpisSent,
    /// <summary>CPUs an IPI sender had to wait for because they had interrupts off.</summary>
    IpiWaits,
    /// <summary>RCU-sched callbacks queued (<c>call_rcu</c> of a table batch).</summary>
    RcuCallbacks,
    /// <summary>Table frees that found lockless walkers counted and serialized with an IPI (walker-counter scheme).</summary>
    WalkerCounterSerializations,
    /// <summary>Anonymous faults that mapped a 2 MiB page with one PMD (<c>do_huge_pmd_anonymous_page</c>, <c>thp_fault_alloc</c>).</summary>
    ThpFaults,
    /// <summary>Faults that could have mapped a huge page but found no free 2 MiB block (<c>thp_fault_fallback</c>).</summary>
    ThpFaultFallbacks,
    /// <summary>PMD mappings split into 512 PTEs (<c>__split_huge_pmd</c>, <c>thp_split_pmd</c>).</summary>
    ThpSplits,
    /// <summary>Whole PMD mappings zapped by munmap, madvise or exit (<c>zap_huge_pmd</c>).</summary>
    ThpZaps,
    /// <summary>2 MiB regions collapsed into a huge page (khugepaged <c>collapse_huge_page</c>, <c>thp_collapse_alloc</c>).</summary>
    ThpCollapses,
    /// <summary>Collapses given up after the PMD was cleared (a page had an extra reference or was locked: the table goes back).</summary>
    ThpCollapseFailures,
    /// <summary>PMD-mapped huge pages migrated whole (PMD migration entries, <c>thp_migration_success</c>).</summary>
    ThpMigrations,
}
