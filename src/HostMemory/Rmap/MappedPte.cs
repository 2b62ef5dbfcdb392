using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Locking;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Rmap;

/// <summary>
/// <c>page_vma_mapped_walk</c> for one small page: the PTE at an address that maps a given pfn, returned with its
/// page-table lock held (dispose to drop it). With the <see cref="HostMutations.RmapWalkWithoutPtl"/> variant the lock
/// is not taken.
/// </summary>
internal ref struct MappedPte
{
    private SpinLatchScope _ptl;
    private bool _locked;
    private bool _inside;

    /// <summary>The table holding the entry.</summary>
    public PteTable Table { get; private set; }

    /// <summary>The entry's index in <see cref="Table"/>.</summary>
    public int Index { get; private set; }

    /// <summary>The entry as it was when the walk matched it (under the lock).</summary>
    public ulong Pte { get; private set; }

    /// <summary>True when the match is a PMD leaf (only with <c>pmdLeafOk</c>): <see cref="Pte"/> and <see cref="Entry"/> are the PMD's.</summary>
    public bool IsPmdLeaf { get; private set; }

    /// <summary>The entry itself, to change under the lock.</summary>
    public readonly ref ulong Entry => ref IsPmdLeaf ? ref Table.Pmd : ref Table.Slots[Index];

    /// <summary>
    /// Finds the entry of <paramref name="vma"/> at <paramref name="address"/> and locks it; true if it maps
    /// <paramref name="pfn"/> (present, or as a migration entry when <paramref name="migration"/>). On false nothing is
    /// held. Reports a page-table use-after-free if the table was freed under the walk.
    /// A PMD leaf over the address is split first (<c>split_huge_pmd_address</c>, as <c>TTU_SPLIT_HUGE_PMD</c> asks),
    /// unless <paramref name="pmdLeafOk"/>: then a leaf mapping the pfn matches as itself (<see cref="IsPmdLeaf"/>), as
    /// <c>folio_referenced_one</c> tests a PMD's young bit without splitting.
    /// </summary>
    public static bool TryMap(HostSystem host, Vma vma, Hva address, Pfn pfn, string actor, bool migration, out MappedPte mapped, bool pmdLeafOk = false)
    {
        mapped = default;
        var vpn = address.PageNumber;
        if (vma.Mm.PageTable.Find(vpn) is not { } table)
        {
            return false;
        }

        if (!pmdLeafOk && !migration && table.IsHugeMapped)
        {
            vma.Mm.SplitHugePmd(table, vpn);
        }

        mapped.Table = table;
        mapped.Index = PageTable.PteIndex(vpn);
        table.EnterWalker();
        mapped._inside = true;
        host.RmapVisitObserver?.Invoke(vma.Mm, address);
        if ((host.Mutations & HostMutations.RmapWalkWithoutPtl) == 0)
        {
            mapped._ptl = table.Ptl.Enter();
            mapped._locked = true;
        }
        else
        {
            // Without spin_lock the walker is preemptible between its read of the entry and its write.
            SchedulingPoint.Yield("page_vma_mapped_walk unlocked");
        }

        if (!table.CheckLive(host.Violations, new AccessSite(actor, -1, vpn)))
        {
            mapped.Dispose();
            return false;
        }

        var pmd = Volatile.Read(ref table.Pmd);
        if (pmd != 0)
        {
            // A leaf (a racing fault or collapse made it after the split above), or one being split or migrated.
            var head = PageTables.Pte.PfnOf(pmd);
            var leafMatches = migration
                ? PageTables.Pte.IsMigration(pmd) && head == pfn
                : pmdLeafOk && PageTables.Pte.IsPresent(pmd) && pfn.Value >= head.Value && pfn.Value < head.Value + PteTable.Entries;
            if (!leafMatches)
            {
                mapped.Dispose();
                return false;
            }

            mapped.IsPmdLeaf = true;
            mapped.Pte = pmd;
            return true;
        }

        var pte = Volatile.Read(ref table.Slots[mapped.Index]);
        var matches = migration
            ? PageTables.Pte.IsMigration(pte) && PageTables.Pte.PfnOf(pte) == pfn
            : PageTables.Pte.IsPresent(pte) && PageTables.Pte.PfnOf(pte) == pfn;
        if (!matches)
        {
            mapped.Dispose();
            return false;
        }

        mapped.Pte = pte;
        if (!mapped._locked)
        {
            SchedulingPoint.Yield("page_vma_mapped_walk unlocked");
        }

        return true;
    }

    /// <summary><c>page_vma_mapped_walk_done</c>: drops the page-table lock.</summary>
    public void Dispose()
    {
        if (_locked)
        {
            _locked = false;
            _ptl.Dispose();
        }

        if (_inside)
        {
            _inside = false;
            Table.LeaveWalker();
        }
    }
}
