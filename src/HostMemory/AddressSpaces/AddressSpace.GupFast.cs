using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// The lockless walkers of the host page tables: <c>gup_fast</c> (<c>get_user_page_fast_only</c>, which KVM's
/// <c>hva_to_pfn_fast</c> tries before the locked GUP) and KVM's <c>host_pfn_mapping_level</c>. Neither takes the mmap
/// lock or a page-table lock; both run inside a <see cref="LocklessWalk"/>.
/// </summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>mm->context.lockless_pgtbl_walk_count</c> of the walker-counter scheme: walkers inside a lockless walk of this
    /// address space. Zero under the other schemes.
    /// </summary>
    internal int LocklessWalkCount;

    private int _walkDelayTick;

    /// <summary>Lockless walkers counted in this address space now (walker-counter scheme only).</summary>
    public int LocklessWalkers => Volatile.Read(ref LocklessWalkCount);

    /// <summary>
    /// <c>get_user_page_fast_only</c>: one page without the mmap lock or the page-table lock. Reads the PTE once; if it
    /// is present (and writable for a <paramref name="write"/>) and not special (the zero page), takes a speculative
    /// reference (<c>try_grab_folio</c>) and then rechecks that the PMD and PTE still map it, dropping the reference if
    /// not. Never faults and never touches the PTE's accessed or dirty bits. False means "use the locked GUP"
    /// (<see cref="GetUserPages"/>); on true the caller holds one reference it must drop once.
    /// </summary>
    public bool TryGetUserPageFast(Hva hva, bool write, out GupResult result)
    {
        result = default;
        var vpn = hva.PageNumber;
        using (var walk = new LocklessWalk(this))
        {
            var pte = walk.ReadPte(vpn, "gup_fast");
            var pfn = Pte.PfnOf(pte);
            if (Pte.IsPresent(pte) && (!write || Pte.IsWritable(pte)) && !pfn.IsZeroPage && Memory.TryGet(pfn))
            {
                // (1) grab the reference, (2) recheck: pairs with the writers' (1) clear the entry, (2) check the
                // references (zap, try_to_unmap, collapse), so one of the two sides sees the other.
                if (walk.StillMaps(vpn, pte))
                {
                    Host.Count(HostCounter.GupFastHits);
                    result = new GupResult(HostStatus.Ok, pfn, Pte.IsWritable(pte));
                    return true;
                }

                Memory.Put(pfn);
            }
        }

        Host.Count(HostCounter.GupFastFallbacks);
        return false;
    }

    /// <summary>
    /// KVM's <c>host_pfn_mapping_level</c>: the size of the host mapping at <paramref name="hva"/>, read locklessly with
    /// interrupts off ("prevent concurrent tear down of host page tables"), each level once (re-reading a level could
    /// see "not a leaf" and then walk into a huge page as if it were a table). The answer is a hint: KVM may use it
    /// only after <c>mmu_invalidate_retry_gfn</c> under its MMU lock, which orders it after any PMD change that
    /// notified. A present PMD leaf (a transparent huge page) reports <see cref="HostPageLevel.Pmd2M"/>; anything
    /// else, <see cref="HostPageLevel.Page4K"/> (no pfn check, as in the kernel).
    /// </summary>
    public HostPageLevel HostPfnMappingLevel(Hva hva)
    {
        using var walk = new LocklessWalk(this);
        return walk.ReadLevel(hva.PageNumber); // pud_leaf, pmd_leaf: a PMD that points to a table is no leaf
    }

    /// <summary>
    /// Holds up every <see cref="HostOptions.LocklessWalkDelayEvery"/>-th lockless walk for about a millisecond inside
    /// its IRQ-off section (see that option).
    /// </summary>
    internal void DelayLocklessWalker()
    {
        var every = Host.Options.LocklessWalkDelayEvery;
        if (every > 0 && Interlocked.Increment(ref _walkDelayTick) % every == 0)
        {
            SchedulingPoint.Sleep(TimeSpan.FromMilliseconds(1), "gup_fast irq-off delay");
        }
    }
}
