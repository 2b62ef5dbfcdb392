using System.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// Transparent huge pages of private anonymous memory (mm/huge_memory.c): the 2 MiB fault
/// (<c>do_huge_pmd_anonymous_page</c>), write faults on a PMD leaf (<c>do_huge_pmd_wp_page</c>), and the split
/// (<c>__split_huge_pmd</c>) that every path changing part of a huge mapping runs first.
/// </summary>
/// <remarks>
/// A PMD leaf lives in <see cref="PteTable.Pmd"/> of the table that covers its 2 MiB, which is kept as the deposited
/// table (<c>pgtable_trans_huge_deposit</c>) so that a split never allocates. Each of the 512 subpages carries one
/// mapping and one reference of its own, and its anon rmap index, so a split changes only the page table.
/// Every change of a PMD leaf is notified with a range covering the whole aligned 2 MiB (primary-mmu.md §5, P6).
/// </remarks>
public sealed partial class AddressSpace
{
    /// <summary>Bytes a PMD leaf maps.</summary>
    public const ulong HugePageSize = PteTable.Entries * Hva.PageSize;

    /// <summary>When anonymous faults of this address space map huge pages. Set before the memory is used.</summary>
    public ThpMode Thp { get; set; }

    /// <summary>
    /// <c>thp_vma_allowable_order</c> + <c>thp_vma_suitable_order</c>: the VMA is private anonymous, the mode allows it
    /// (<c>always</c>, or <c>madvise</c> with <c>VM_HUGEPAGE</c>; never with <c>VM_NOHUGEPAGE</c>), and the 2 MiB
    /// aligned range around <paramref name="vpn"/> lies inside the VMA.
    /// </summary>
    internal bool HugePageAllowed(Vma vma, ulong vpn)
    {
        if (vma.Kind != VmaKind.AnonymousPrivate || vma.NoHugePage || Thp == ThpMode.Never
            || (Thp == ThpMode.Madvise && !vma.HugePageAdvised))
        {
            return false;
        }

        var head = Hva.FromPage(vpn & ~(ulong)(PteTable.Entries - 1));
        return head >= vma.Start && head + HugePageSize <= vma.End;
    }

    /// <summary>
    /// <c>do_huge_pmd_anonymous_page</c> on an empty table: a zeroed order-9 page, anon rmap for each subpage, then under
    /// the PMD lock, if the range is still empty (<c>pmd_none</c>), the leaf (none → present: no notifier). False when
    /// no 2 MiB block is free (the caller maps a small page instead). Caller holds the mmap lock for read.
    /// </summary>
    private bool TryHugeAnonymousFault(Vma vma, ulong vpn, PteTable table, out HostStatus status)
    {
        if (!Memory.TryAllocateHuge(FrameFlags.Anon, out var head))
        {
            Host.Count(HostCounter.ThpFaultFallbacks);
            status = HostStatus.Ok;
            return false;
        }

        var baseVpn = vpn & ~(ulong)(PteTable.Entries - 1);
        for (var k = 0; k < PteTable.Entries; k++)
        {
            SetAnonRmap(vma, baseVpn + (ulong)k, new Pfn(head.Value + k));
        }

        var installed = false;
        using (table.Ptl.Enter())
        {
            if (table.Used == 0 && table.Pmd == 0)
            {
                for (var k = 0; k < PteTable.Entries; k++)
                {
                    var pfn = new Pfn(head.Value + k);
                    Memory.AddMappingKeepRef(pfn);
                    Memory.ClearWriteWatch(pfn);
                }

                table.Used = PteTable.Entries;
                // set_pmd_at after the folio is set up: a lockless walker that sees the leaf sees initialized subpages.
                // maybe_pmd_mkwrite: writable only in a writable VMA (a read fault of a read-only one maps it read-only).
                var writable = vma.CanWrite ? Pte.Writable | Pte.Dirty : 0;
                Volatile.Write(ref table.Pmd, Pte.Make(head, Pte.Huge | Pte.Accessed | writable));
                installed = true;
            }
        }

        if (!installed)
        {
            PutHugeBlock(head); // a racing fault mapped something first: walk again
        }
        else
        {
            Host.Count(HostCounter.ThpFaults);
        }

        status = HostStatus.Ok;
        return true;
    }

    /// <summary>
    /// A fault that found a PMD leaf (<c>__handle_mm_fault</c>'s huge branch). A PMD migration entry waits
    /// (<c>pmd_migration_entry_wait</c>); a leaf being split waits for the split; a write to a read-only leaf
    /// (<c>do_huge_pmd_wp_page</c>) reuses it if every subpage is exclusively ours, else splits the PMD and lets the
    /// 4 KiB path copy the one page (the kernel's fallback since v5.8). Caller holds the mmap lock for read.
    /// </summary>
    private HostStatus HugePmdFault(Vma vma, ulong vpn, PteTable table, ulong pmd, bool write)
    {
        if (!Pte.IsPresent(pmd))
        {
            if (Pte.IsMigration(pmd) && !Memory.IsPageLocked(Pte.PfnOf(pmd)) && Volatile.Read(ref table.Pmd) == pmd)
            {
                return BadPte(table, -1, pmd, vpn);
            }

            SchedulingPoint.Yield(Pte.IsMigration(pmd) ? "pmd_migration_entry_wait" : "split_huge_pmd wait");
            return HostStatus.Ok;
        }

        if (!write || Pte.IsWritable(pmd))
        {
            return HostStatus.Ok; // spurious: a racing fault fixed it
        }

        var head = Pte.PfnOf(pmd);
        using (table.Ptl.Enter())
        {
            if (table.Pmd != pmd)
            {
                return HostStatus.Ok;
            }

            if (CanReuseHuge(head))
            {
                // wp_huge_pmd reuse: read-only to writable needs no notifier (nothing a secondary maps gets weaker).
                Volatile.Write(ref table.Pmd, pmd | Pte.Writable | Pte.Dirty | Pte.Accessed);
                for (var k = 0; k < PteTable.Entries; k++)
                {
                    var pfn = new Pfn(head.Value + k);
                    Memory.MarkDirty(pfn);
                    Memory.ClearWriteWatch(pfn);
                }

                Host.Count(HostCounter.WriteProtectReuses);
                return HostStatus.Ok;
            }
        }

        SplitHugePmd(table, vpn);
        return HostStatus.Ok; // the walk again meets a read-only PTE and copies one page
    }

    private bool CanReuseHuge(Pfn head)
    {
        for (var k = 0; k < PteTable.Entries; k++)
        {
            if (!CanReuseAnonymous(new Pfn(head.Value + k)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// <c>__split_huge_pmd</c> of the PMD leaf in <paramref name="table"/>: range start over the aligned 2 MiB
    /// (<see cref="NotifierEvent.Clear"/>), PMD lock, <c>pmdp_invalidate</c> (the leaf stays, not present: lockless
    /// walkers fall back), 512 PTEs to the same pages with the same bits written into the deposited table, then
    /// <c>pmd_populate</c> (the leaf goes, the table is visible), unlock, range end. Nothing to do if the leaf went
    /// meanwhile. Caller holds the mmap lock (or the anon_vma lock, for rmap walkers) and no page-table lock.
    /// </summary>
    internal void SplitHugePmd(PteTable table, ulong vpn)
    {
        var head = Hva.FromPage(vpn & ~(ulong)(PteTable.Entries - 1));
        var range = new NotifierRange(head, head + HugePageSize, NotifierEvent.Clear, InvalidationCause.ThpSplit);
        var notify = (Host.Mutations & HostMutations.ThpSplitNoNotify) == 0;
        if (notify)
        {
            Notifiers.InvalidateRangeStart(range);
        }

        var split = false;
        using (table.Ptl.Enter())
        {
            var pmd = table.Pmd;
            if ((pmd & (Pte.Huge | Pte.Present)) == (Pte.Huge | Pte.Present))
            {
                Volatile.Write(ref table.Pmd, pmd & ~Pte.Present); // pmdp_invalidate
                SchedulingPoint.Window("__split_huge_pmd_locked: pmd invalidated, ptes not yet");
                for (var k = 0; k < PteTable.Entries; k++)
                {
                    table.Slots[k] = Pte.SubpageOf(pmd, k);
                }

                Interlocked.MemoryBarrier(); // smp_wmb: the PTEs are visible before the table is
                Volatile.Write(ref table.Pmd, 0UL); // pmd_populate
                split = true;
            }
        }

        if (notify)
        {
            Notifiers.InvalidateRangeEnd(range);
        }

        if (split)
        {
            Host.Count(HostCounter.ThpSplits);
        }
    }

    /// <summary>
    /// <c>split_huge_pmd_address</c> for a VMA boundary at <paramref name="at"/> (<c>vma_adjust_trans_huge</c>): a PMD
    /// leaf straddling an address that is not 2 MiB aligned is split before the VMA is. Caller holds the mmap write lock.
    /// </summary>
    private void SplitHugePmdStraddling(Hva at)
    {
        Debug.Assert(_mmapLock.IsWriteLockHeld, "vma_adjust_trans_huge: caller holds the mmap lock for write");
        if ((at.Value & (HugePageSize - 1)) != 0 && PageTable.Find(at.PageNumber) is { IsHugeMapped: true } table)
        {
            SplitHugePmd(table, at.PageNumber);
        }
    }

    /// <summary>
    /// <c>zap_huge_pmd</c>: clears a PMD leaf wholly inside the range being zapped, moving its dirty and accessed bits to
    /// every subpage and gathering their references. The caller's range covers the whole 2 MiB. Caller holds the PTL.
    /// </summary>
    private void ZapHugePmd(PteTable table, MmuGather gather)
    {
        Debug.Assert(table.Ptl.IsHeld, "zap_huge_pmd: caller holds the PMD lock");
        var pmd = table.Pmd;
        if (Pte.IsPresent(pmd))
        {
            for (var k = 0; k < PteTable.Entries; k++)
            {
                ReleasePresentPte(Pte.SubpageOf(pmd, k), gather);
            }

            Host.Count(HostCounter.ThpZaps);
        }

        Volatile.Write(ref table.Pmd, 0UL);
        table.Used = 0;
    }

    /// <summary>
    /// <c>madvise(MADV_HUGEPAGE)</c> or <c>madvise(MADV_NOHUGEPAGE)</c> over [start, start + length): sets
    /// <c>VM_HUGEPAGE</c> / <c>VM_NOHUGEPAGE</c>, splitting VMAs at the edges (and so splitting PMD leaves that straddle
    /// an unaligned edge, the only change to the page tables). No other notifier: existing huge pages stay.
    /// </summary>
    public HostStatus MadviseHugePage(Hva start, ulong length, bool huge)
    {
        using var _ = WriteLock();
        var status = SplitForRange(start, length, out var end);
        if (status != HostStatus.Ok)
        {
            return status;
        }

        foreach (var vma in _vmas.Where(v => v.Start >= start && v.End <= end))
        {
            vma.HugePageAdvised = huge;
            vma.NoHugePage = !huge;
        }

        return HostStatus.Ok;
    }

    /// <summary>
    /// <c>copy_huge_pmd</c> (fork): the child maps the same huge page with one PMD, its fresh table kept as its
    /// deposit; a private mapping is write-protected in both (inside the caller's range on the parent), so the next write
    /// on either side goes through <see cref="HugePmdFault"/>. A PMD migration entry is copied, read-only in both for a
    /// private mapping. Caller holds
    /// both page-table locks, the child's first.
    /// </summary>
    private void CopyHugePmd(PteTable table, PteTable childTable, bool cow)
    {
        Debug.Assert(table.Ptl.IsHeld && childTable.Ptl.IsHeld, "copy_huge_pmd: caller holds both PMD locks");
        var pmd = table.Pmd;
        if (Pte.IsPresent(pmd))
        {
            if (cow && Pte.IsWritable(pmd))
            {
                pmd &= ~Pte.Writable;
                Volatile.Write(ref table.Pmd, pmd);
            }

            var head = Pte.PfnOf(pmd);
            for (var k = 0; k < PteTable.Entries; k++)
            {
                Memory.AddMapping(new Pfn(head.Value + k));
            }

            pmd &= ~Pte.Accessed;
        }
        else if (Pte.IsMigration(pmd) && cow && Pte.IsWritable(pmd) && (Host.Mutations & HostMutations.ForkKeepsWritableMigrationEntry) == 0)
        {
            // copy_huge_pmd of a PMD migration entry: both copies read-only, as for a PTE migration entry.
            pmd &= ~Pte.Writable;
            Volatile.Write(ref table.Pmd, pmd);
        }

        childTable.Used = PteTable.Entries;
        Volatile.Write(ref childTable.Pmd, pmd);
    }

    /// <summary>Drops the reference of each frame of a huge block that was never mapped.</summary>
    private void PutHugeBlock(Pfn head)
    {
        for (var k = 0; k < PteTable.Entries; k++)
        {
            Memory.Put(new Pfn(head.Value + k));
        }
    }
}
