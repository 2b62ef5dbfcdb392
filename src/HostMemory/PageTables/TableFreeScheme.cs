namespace Hypervisor.HostMemory.PageTables;

/// <summary>
/// How a page-table page unhooked by <c>free_pgtables</c> is kept away from lockless walkers (<c>gup_fast</c>,
/// <c>host_pfn_mapping_level</c>), which hold no lock and run with interrupts off (primary-mmu.md §4, kernel-protocol
/// §5). Each is safe; they differ in who waits.
/// </summary>
public enum TableFreeScheme
{
    /// <summary>
    /// The TLB shootdown is an IPI to every CPU and waits for each to take it (x86 without
    /// <c>MMU_GATHER_RCU_TABLE_FREE</c>, before v6.15): "Since the disabling of IRQs delays the completion of the TLB
    /// flush we can never observe an already freed page". The freeing thread waits for every walker.
    /// </summary>
    Ipi,

    /// <summary>
    /// <c>MMU_GATHER_RCU_TABLE_FREE</c>: tables go to <c>call_rcu</c> (sched flavour) and are freed after a grace
    /// period; the freeing thread does not wait, the memory comes back a little later.
    /// </summary>
    Rcu,

    /// <summary>
    /// Leonardo Bras's proposal (2019, not merged): walkers count themselves in a per-mm atomic
    /// (<c>start_lockless_pgtbl_walk</c> / <c>end_lockless_pgtbl_walk</c>, with full barriers), and the freeing side
    /// serializes with an IPI only while the count is non-zero (<c>running_lockless_pgtbl_walk</c>).
    /// </summary>
    WalkerCounter,
}
