using System.Diagnostics;
using Hypervisor.HostMemory.Cpus;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// One lockless page-table walk (the <c>gup_fast</c> comment block in mm/gup.c): interrupts off on a model CPU, no mmap
/// lock, no page-table lock, each level read once. What keeps the tables it reads alive is the freeing side's scheme
/// (<see cref="TableFreeScheme"/>): the IPI it sends cannot complete, and the RCU-sched grace period cannot end, before
/// this section does; under the walker-counter scheme the walker also counts itself in the address space
/// (<c>start_lockless_pgtbl_walk</c> / <c>end_lockless_pgtbl_walk</c>).
/// </summary>
/// <remarks>
/// A table the walk entered is registered as having a walker inside (<see cref="PteTable.EnterWalker"/>), and its entry
/// is checked for poison after the load, so a free that races the walk is reported from whichever side comes second.
/// </remarks>
internal ref struct LocklessWalk
{
    private readonly AddressSpace _mm;
    private readonly bool _counterScheme;
    private IrqOffScope _irq;
    private bool _counted;
    private PteTable? _table;
    private ulong _pmd;

    public LocklessWalk(AddressSpace mm)
    {
        _mm = mm;
        _counterScheme = mm.Host.Options.TableFree == TableFreeScheme.WalkerCounter;
        _irq = mm.Host.Cpus.LocalIrqSave();
        mm.Host.Count(HostCounter.LocklessWalks);
        if (_counterScheme && (mm.Host.Mutations & HostMutations.WalkerCounterNoBarrier) == 0)
        {
            // start_lockless_pgtbl_walk: atomic_inc then smp_mb (an interlocked add is both), so the count is visible
            // before any page-table load below.
            Interlocked.Increment(ref mm.LocklessWalkCount);
            _counted = true;
        }
    }

    /// <summary>
    /// Reads the PMD level for virtual page <paramref name="vpn"/> once (<c>pmdp_get_lockless</c>): the last-level table
    /// it points to, or null. Does not look inside the table.
    /// </summary>
    public PteTable? ReadPmd(ulong vpn)
    {
        Debug.Assert(_mm.Host.Cpus.IrqsDisabledHere, "a lockless walk reads page tables with interrupts off");
        var table = _mm.PageTable.Find(vpn);
        Scheduling.SchedulingPoint.Window("lockless walk: pmd read, pte not yet");
        _mm.Host.LocklessWalkObserver?.Invoke(_mm, Hva.FromPage(vpn));
        if (!_counted && _counterScheme)
        {
            // The broken variant: the increment was still in the store buffer when the PMD was loaded. The freeing side
            // can read a zero count for as long as it stays there.
            _mm.DelayLocklessWalker();
            Interlocked.Increment(ref _mm.LocklessWalkCount);
            _counted = true;
        }
        else
        {
            _mm.DelayLocklessWalker();
        }

        return table;
    }

    /// <summary>
    /// Reads the PTE for <paramref name="vpn"/> once (<c>ptep_get_lockless</c>) through the PMD: 0 if there is no table.
    /// A freed table is reported as a page-table use-after-free and reads as 0.
    /// </summary>
    public ulong ReadPte(ulong vpn, string actor)
    {
        var table = ReadPmd(vpn);
        if (table is null)
        {
            return 0;
        }

        if (_table is null)
        {
            table.EnterWalker();
            _table = table;
        }

        // The PMD value is read once: a leaf gives the subpage's entry (gup_fast_pmd_leaf); a leaf being split or
        // migrated (not present) gives nothing, and the walk falls back; no leaf sends the walk into the table, whose
        // entries a split wrote before it removed the leaf.
        var pmd = Volatile.Read(ref table.Pmd);
        _pmd = pmd;
        var pte = pmd == 0 ? Volatile.Read(ref table.Slots[PageTable.PteIndex(vpn)])
            : Pte.IsPresent(pmd) ? Pte.SubpageOf(pmd, PageTable.PteIndex(vpn)) : 0;
        return table.CheckLive(_mm.Host.Violations, new AccessSite(actor, -1, vpn)) ? pte : 0;
    }

    /// <summary>
    /// <c>host_pfn_mapping_level</c>'s read: the PMD level of <paramref name="vpn"/>, read once (<c>pmdp_get_lockless</c>
    /// then <c>pmd_leaf</c>): 2 MiB for a present leaf, else 4 KiB (a table, nothing, or a leaf being split).
    /// </summary>
    public HostPageLevel ReadLevel(ulong vpn)
    {
        var table = ReadPmd(vpn);
        if (table is null)
        {
            return HostPageLevel.Page4K;
        }

        if (_table is null)
        {
            table.EnterWalker();
            _table = table;
        }

        var pmd = Volatile.Read(ref table.Pmd);
        var live = table.CheckLive(_mm.Host.Violations, new AccessSite("host_pfn_mapping_level", -1, vpn));
        return live && (pmd & (Pte.Huge | Pte.Present)) == (Pte.Huge | Pte.Present) ? HostPageLevel.Pmd2M : HostPageLevel.Page4K;
    }

    /// <summary>
    /// The recheck after taking a page reference (<c>gup_fast_pte_range</c>: <c>pmd_val(pmd) != pmd_val(*pmdp)</c>,
    /// <c>pte_val(pte) != pte_val(ptep_get(ptep))</c>): the PMD still points at the same table and the PTE is unchanged.
    /// </summary>
    public readonly bool StillMaps(ulong vpn, ulong pte) =>
        _table is not null && ReferenceEquals(_mm.PageTable.Find(vpn), _table)
        && Volatile.Read(ref _table.Pmd) == _pmd
        && (_pmd != 0 || Volatile.Read(ref _table.Slots[PageTable.PteIndex(vpn)]) == pte);

    public void Dispose()
    {
        _table?.LeaveWalker();
        if (_counted)
        {
            // end_lockless_pgtbl_walk: smp_mb then atomic_dec; the interlocked decrement orders the loads before it.
            Interlocked.Decrement(ref _mm.LocklessWalkCount);
        }

        _irq.Dispose();
    }
}
