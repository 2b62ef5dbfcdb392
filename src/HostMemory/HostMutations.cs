namespace Hypervisor.HostMemory;

/// <summary>
/// Deliberately broken variants of the primary side of the protocol. They exist so that tests can show the
/// coherence oracle catches each one; a real host never sets them.
/// </summary>
[Flags]
public enum HostMutations
{
    None = 0,
    /// <summary>Exit frees the address space's pages without calling <c>Release</c> on the notifiers first.</summary>
    NoRelease = 1 << 0,
    /// <summary><c>Unregister</c> returns without waiting for running callbacks (no grace period).</summary>
    UnregisterWithoutWait = 1 << 1,
    /// <summary>Legacy profile: <c>InvalidatePage</c> is called after the old page was freed, not before.</summary>
    LegacyInvalidateAfterFree = 1 << 2,
    /// <summary>
    /// <c>munmap</c> and <c>madvise(DONTNEED)</c> clear the PTEs and free the pages first, and only then call
    /// <c>InvalidateRangeStart</c>/<c>End</c>: the order zap-before-free forbids, in either profile.
    /// </summary>
    FreeBeforeInvalidate = 1 << 3,
    /// <summary>
    /// <c>free_pgtables</c> frees page-table pages as it unhooks them: before the VMAs are unlinked from the reverse
    /// maps and before the mmu_gather's TLB flush, so an rmap walker still inside a table reads freed memory (P1, P8).
    /// </summary>
    TableFreeBeforeFlush = 1 << 4,
    /// <summary>
    /// Rmap walkers change PTEs without the page-table lock (<c>page_vma_mapped_walk</c> returning unlocked), racing
    /// zap, fault and each other: double unmaps, lost dirty bits, map-count underflow (P2).
    /// </summary>
    RmapWalkWithoutPtl = 1 << 5,
    /// <summary>
    /// <c>RegisterNotifier</c> does not pin the users (<c>mmget_not_zero</c>/<c>mmput</c>) around the registration: it
    /// can subscribe after the last exit ran <c>release</c> and before the pages are freed, so the notifier is never
    /// released and its secondary keeps mapping freed frames.
    /// </summary>
    RegisterWithoutPin = 1 << 6,
    /// <summary>
    /// Page tables unhooked by <c>free_pgtables</c> are freed right after the TLB flush with no regard for lockless
    /// walkers: no IPI wait, no RCU grace period, no walker-count check. A <c>gup_fast</c> or
    /// <c>host_pfn_mapping_level</c> walk inside the table reads freed memory (P10).
    /// </summary>
    TableFreeNoSync = 1 << 7,
    /// <summary>
    /// Walker-counter scheme without the barrier Peter Zijlstra asked for in <c>start_lockless_pgtbl_walk</c>: the
    /// walker's increment is still in its store buffer when it loads the PMD (x86 lets a load pass an earlier store),
    /// so the freeing side reads a zero count, skips the IPI and frees a table the walker is about to read.
    /// </summary>
    WalkerCounterNoBarrier = 1 << 8,
    /// <summary>
    /// <c>__split_huge_pmd</c> turns a PMD mapping into PTEs without the 2 MiB notifier range around it: a secondary MMU
    /// keeps a 2 MiB mapping while the primary maps that range with PTEs (P15), and no later 4 KiB change of the range
    /// is guaranteed to reach it as a huge-page change.
    /// </summary>
    ThpSplitNoNotify = 1 << 9,
    /// <summary>
    /// <c>__xip_unmap</c> clears the sparse-page PTEs of a hole that got its block without telling the notifiers: a
    /// secondary MMU keeps reading zeros from the sparse page while the file's data is in the block (I2).
    /// </summary>
    XipUnmapWithoutNotify = 1 << 20,
    /// <summary>
    /// <c>try_to_unmap_cluster</c> brackets only the target page's address instead of the whole cluster it unmaps:
    /// the other pages of the cluster stay mapped in secondary MMUs after the primary dropped them (P6).
    /// </summary>
    ClusterRangeOnePage = 1 << 21,
    /// <summary>
    /// <c>copy_nonpresent_pte</c> copies a writable migration entry of a COW mapping as it is, leaving it writable in
    /// parent and child: when the migration ends, <c>remove_migration_ptes</c> maps the new page writable in both, and
    /// each side's writes show through the other's mappings, its secondary MMUs' included (fork's copy-on-write, primary-mmu.md §6).
    /// </summary>
    ForkKeepsWritableMigrationEntry = 1 << 22,
    /// <summary>
    /// <c>change_pte_range</c> (mprotect removing write) skips migration entries: a page under migration when
    /// mprotect runs comes back writable from <c>remove_migration_ptes</c>, and the guest writes read-only memory
    /// through a secondary MMU that faulted it in afterwards.
    /// </summary>
    MprotectKeepsWritableMigrationEntry = 1 << 23,
}
