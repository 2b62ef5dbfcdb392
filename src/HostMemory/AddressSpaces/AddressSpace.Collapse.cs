using System.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>
/// khugepaged's <c>collapse_huge_page</c> for private anonymous memory (mm/khugepaged.c), step for step as in
/// primary-mmu.md §4: the huge page is allocated first; then under the mmap write lock and the anon_vma lock for write,
/// range start over the 2 MiB, the PMD cleared and flushed (<c>pmdp_collapse_flush</c>), range end, then
/// <c>tlb_remove_table_sync_one</c> — the lockless-walker sync point (Jann Horn 2022): after it no <c>gup_fast</c> that
/// saw the old table is still running, so a reference it took is visible to the isolation check that follows.
/// </summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// Collapses the 2 MiB at <paramref name="head"/> into one huge page if it is eligible: inside a THP-allowed private
    /// anonymous VMA, mapped by a table of small PTEs with at least one anonymous page and no swap, migration or shared
    /// entry. Empty and zero-page entries read back as zeroes (<c>max_ptes_none</c> 511). Fails, putting the old table
    /// back, if a page has a reference beyond its mapping (a get_user_pages or KVM reference in flight) or is locked.
    /// </summary>
    public bool TryCollapseHugePage(Hva head)
    {
        if ((head.Value & (HugePageSize - 1)) != 0 || !Memory.TryAllocateHuge(FrameFlags.Anon, out var fresh))
        {
            return false; // alloc_charge_folio fails: nothing to do this time
        }

        var collapsed = false;
        using (WriteLock())
        {
            var vpn = head.PageNumber;
            if (!_dead && !_oomReaped && FindVma(head) is { } vma && HugePageAllowed(vma, vpn) && vma.AnonVma is { } anonVma
                && PageTable.Find(vpn) is { } table && table.Pmd == 0 && Collapsible(table))
            {
                anonVma.Lock.EnterWriteLock(); // anon_vma_lock_write: rmap walkers cannot visit the window
                try
                {
                    collapsed = CollapseLocked(vma, table, vpn, fresh);
                }
                finally
                {
                    anonVma.Lock.ExitWriteLock();
                }
            }
        }

        if (!collapsed)
        {
            PutHugeBlock(fresh);
        }

        return collapsed;
    }

    /// <summary><c>hpage_collapse_scan_pmd</c>'s pre-check: at least one anonymous page, no swap or migration entry, nothing shared.</summary>
    private bool Collapsible(PteTable table)
    {
        var anon = 0;
        using (table.Ptl.Enter())
        {
            foreach (var pte in table.Slots)
            {
                if (pte == 0 || (Pte.IsPresent(pte) && Pte.PfnOf(pte).IsZeroPage))
                {
                    continue;
                }

                if (!Pte.IsPresent(pte) || (Memory.Flags(Pte.PfnOf(pte)) & (FrameFlags.Anon | FrameFlags.Ksm)) != FrameFlags.Anon
                    || Memory.MapCount(Pte.PfnOf(pte)) != 1)
                {
                    return false;
                }

                anon++;
            }
        }

        return anon > 0;
    }

    /// <summary>The collapse proper; caller holds the mmap write lock and the anon_vma lock for write.</summary>
    private bool CollapseLocked(Vma vma, PteTable table, ulong vpn, Pfn fresh)
    {
        Debug.Assert(_mmapLock.IsWriteLockHeld, "collapse_huge_page: caller holds the mmap lock for write");
        var head = Hva.FromPage(vpn);
        var range = new NotifierRange(head, head + HugePageSize, NotifierEvent.Clear, InvalidationCause.ThpCollapse);
        Notifiers.InvalidateRangeStart(range);
        using (table.Ptl.Enter())
        {
            PageTable.DetachTable(vpn); // pmdp_collapse_flush: clear, then the host TLB flush
        }

        Host.Count(HostCounter.HostTlbFlushes);
        Notifiers.InvalidateRangeEnd(range);
        SyncLocklessWalkers();
        SchedulingPoint.Window("collapse_huge_page: pmd cleared and synced, pages not yet isolated");

        var old = new Pfn[PteTable.Entries];
        if (!IsolateForCollapse(table, old))
        {
            PageTable.ReattachTable(vpn, table); // pmd_populate the old table back: nothing changed
            Host.Count(HostCounter.ThpCollapseFailures);
            return false;
        }

        for (var k = 0; k < PteTable.Entries; k++)
        {
            var to = new Pfn(fresh.Value + k);
            if (old[k] != default)
            {
                Memory.Copy(old[k], to, new Diagnostics.AccessSite("khugepaged", -1, vpn + (ulong)k));
            }

            SetAnonRmap(vma, vpn + (ulong)k, to);
            Memory.AddMappingKeepRef(to);
            Memory.ClearWriteWatch(to);
        }

        using (table.Ptl.Enter())
        {
            // The detached table becomes the new leaf's deposit: emptied, then the leaf, then the table hooked back.
            Array.Clear(table.Slots);
            table.Used = PteTable.Entries;
            var bits = Pte.Huge | Pte.Dirty | Pte.Accessed | (vma.CanWrite ? Pte.Writable : 0);
            Volatile.Write(ref table.Pmd, Pte.Make(fresh, bits));
            PageTable.ReattachTable(vpn, table); // set_pmd_at after __folio_mark_uptodate's smp_wmb
        }

        foreach (var pfn in old)
        {
            if (pfn != default)
            {
                Memory.RemoveMapping(pfn);
                Memory.UnlockPage(pfn);
                Memory.Put(pfn); // the old mapping's reference: the last one, the refcount check said so
            }
        }

        Host.Count(HostCounter.ThpCollapses);
        return true;
    }

    /// <summary>
    /// <c>__collapse_huge_page_isolate</c> on the detached table: each anonymous page locked and with exactly its mapping's
    /// reference (a <c>gup_fast</c> or KVM reference taken before the sync shows here and fails the collapse). Fills
    /// <paramref name="old"/> with the pages (default for empty and zero-page entries); on failure unlocks what it locked.
    /// </summary>
    private bool IsolateForCollapse(PteTable table, Pfn[] old)
    {
        using (table.Ptl.Enter())
        {
            for (var k = 0; k < PteTable.Entries; k++)
            {
                var pte = table.Slots[k];
                if (pte == 0 || Pte.PfnOf(pte).IsZeroPage)
                {
                    continue;
                }

                var pfn = Pte.PfnOf(pte);
                if (!Pte.IsPresent(pte) || Memory.RefCount(pfn) != 1 || Memory.MapCount(pfn) != 1 || !Memory.TryLockPage(pfn))
                {
                    for (var j = 0; j < k; j++)
                    {
                        if (old[j] != default)
                        {
                            Memory.UnlockPage(old[j]);
                        }
                    }

                    return false;
                }

                old[k] = pfn;
            }
        }

        return true;
    }

    /// <summary>
    /// <c>tlb_remove_table_sync_one</c> after a PMD was cleared: an IPI to every CPU, which completes only once each has
    /// left its interrupts-off section (under the IPI scheme the flush's own IPI does it; under the RCU scheme it is the
    /// extra IPI; under the walker counter, only when walkers are counted, after a full barrier).
    /// </summary>
    private void SyncLocklessWalkers()
    {
        if ((Host.Mutations & HostMutations.TableFreeNoSync) != 0)
        {
            return;
        }

        if (Host.Options.TableFree == TableFreeScheme.WalkerCounter)
        {
            Interlocked.MemoryBarrier();
            if (LocklessWalkers == 0)
            {
                return;
            }

            Host.Count(HostCounter.WalkerCounterSerializations);
        }

        Host.Cpus.SendIpiToAllAndWait();
    }
}
