using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>Removing mappings: <c>munmap</c>, <c>madvise(MADV_DONTNEED)</c>, and exit.</summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>munmap</c> (<c>do_vmi_munmap</c> → <c>unmap_region</c>), under the mmap write lock: split the edge VMAs
    /// (under the rmap locks), range start (<see cref="NotifierEvent.Unmap"/>), clear the PTEs into an mmu_gather,
    /// range end, then <c>free_pgtables</c> (unlink the VMAs from the reverse maps, unhook the emptied tables), then
    /// <c>tlb_finish_mmu</c> (flush, free the pages and tables), then drop the VMAs.
    /// </summary>
    public HostStatus Munmap(Hva start, ulong length)
    {
        if (!start.IsPageAligned || length == 0 || (length & Hva.PageMask) != 0)
        {
            return HostStatus.Invalid;
        }

        using var _ = WriteLock();
        if (_dead)
        {
            return HostStatus.Dead;
        }

        var end = start + length;
        if (!_vmas.Exists(v => v.Start < end && start < v.End))
        {
            return HostStatus.Ok;
        }

        SplitAt(start);
        SplitAt(end);
        var removed = _vmas.FindAll(v => v.Start >= start && v.End <= end);
        var gather = new MmuGather(Host, this);
        ZapWithNotifiers(new NotifierRange(start, end, NotifierEvent.Unmap, InvalidationCause.Munmap), gather);
        FreePgtables(removed, gather);
        gather.Finish();
        _vmas.RemoveAll(v => v.Start >= start && v.End <= end);
        Host.Count(HostCounter.Munmaps);
        return HostStatus.Ok;
    }

    /// <summary>
    /// <c>madvise(MADV_DONTNEED)</c> under the mmap read lock: drops the pages of the range; private anonymous
    /// memory reads back as zero afterwards, file pages stay in the page cache.
    /// </summary>
    public HostStatus MadviseDontNeed(Hva start, ulong length)
    {
        if (!start.IsPageAligned || length == 0 || (length & Hva.PageMask) != 0)
        {
            return HostStatus.Invalid;
        }

        using var _ = ReadLock();
        if (_dead)
        {
            return HostStatus.Dead;
        }

        var end = start + length;
        if (!IsFullyMapped(start, end))
        {
            return HostStatus.NoVma;
        }

        // zap_page_range_single: the tables stay (walkers may be inside; only munmap and exit free them).
        var gather = new MmuGather(Host);
        ZapWithNotifiers(new NotifierRange(start, end, NotifierEvent.Clear, InvalidationCause.MadviseDontNeed), gather);
        gather.Finish();
        Host.Count(HostCounter.MadviseDontNeeds);
        return HostStatus.Ok;
    }

    /// <summary>
    /// <c>mmput</c>: drops a user; the last one tears the address space down in <c>exit_mmap</c>'s order:
    /// <c>mmu_notifier_release</c> first (P18), then, under the mmap lock, <c>unmap_vmas</c> (no range callbacks: the
    /// released subscriptions no longer see them), <c>free_pgtables</c> (unlink from the reverse maps, unhook the
    /// tables), <c>tlb_finish_mmu</c> (flush, then free pages and tables), <c>remove_vma</c>.
    /// </summary>
    public void Exit()
    {
        var users = Interlocked.Decrement(ref _users);
        if (users > 0)
        {
            return;
        }

        if (users < 0)
        {
            throw new InvalidOperationException($"'{Name}' has already exited");
        }

        // mmu_notifier_release: secondaries drop everything before any page is freed.
        if ((Host.Mutations & HostMutations.NoRelease) == 0)
        {
            Notifiers.ReleaseAll();
        }

        using var _ = WriteLock();
        _dead = true;
        var gather = new MmuGather(Host, this);
        foreach (var vma in _vmas)
        {
            ZapRange(vma.Start, vma.End, gather);
        }

        FreePgtables(_vmas, gather);
        gather.Finish();
        _vmas.Clear();
        Host.Count(HostCounter.Exits);
    }

    /// <summary>
    /// start, zap into the gather, end: the order every unmapping path follows (<c>unmap_vmas</c>,
    /// <c>zap_page_range_single</c>). The caller finishes the gather, which frees the pages after the end.
    /// </summary>
    private void ZapWithNotifiers(in NotifierRange range, MmuGather gather)
    {
        if ((Host.Mutations & HostMutations.FreeBeforeInvalidate) != 0)
        {
            // The broken order: the secondary MMU still maps the pages while they go back to the allocator.
            ZapRange(range.Start, range.End, gather);
            gather.FlushMmu();
            Notifiers.InvalidateRangeStart(range);
            Notifiers.InvalidateRangeEnd(range);
            return;
        }

        Notifiers.InvalidateRangeStart(range);
        ZapRange(range.Start, range.End, gather);
        Notifiers.InvalidateRangeEnd(range);
    }

    /// <summary>
    /// <c>zap_pte_range</c>: clears every PTE in [start, end), moving dirty and accessed bits to the frames and
    /// releasing swap slots. The mappings' references are gathered for the caller to drop after the notifiers
    /// are done (zap-before-free).
    /// </summary>
    internal void ZapRange(Hva start, Hva end, MmuGather gather)
    {
        var startVpn = start.PageNumber;
        var endVpn = end.PageNumber;
        PageTable.ForEachTable(startVpn, endVpn, (baseVpn, table, from, to) =>
        {
            if (Volatile.Read(ref table.Pmd) != 0 && (from != 0 || to != PteTable.Entries))
            {
                // zap_pmd_range: a huge mapping only partly inside the range is split first (its own 2 MiB range,
                // nested in the caller's), then its PTEs are zapped like any others.
                SplitHugePmd(table, baseVpn);
            }

            using (table.Ptl.Enter())
            {
                if (table.Pmd != 0)
                {
                    ZapHugePmd(table, gather);
                    return;
                }

                for (var j = from; j < to; j++)
                {
                    var pte = table.Slots[j];
                    if (pte == 0)
                    {
                        continue;
                    }

                    if (Pte.IsPresent(pte))
                    {
                        ReleasePresentPte(pte, gather);
                    }
                    else if (Pte.IsSwap(pte))
                    {
                        // free_swap_and_cache: the PTE's use of the slot, then the swap-cache page if nothing else uses it.
                        Host.Swap.Free(Pte.SwapSlotOf(pte));
                        Host.SwapCache.TryFreeOrphan(Pte.SwapSlotOf(pte));
                    }

                    Volatile.Write(ref table.Slots[j], 0UL);
                    table.Used--;
                }
            }
        });
    }

    private void ReleasePresentPte(ulong pte, MmuGather gather)
    {
        var pfn = Pte.PfnOf(pte);
        if (pfn.IsZeroPage)
        {
            return;
        }

        if ((pte & Pte.Dirty) != 0)
        {
            Memory.MarkDirty(pfn);
        }

        if ((pte & Pte.Accessed) != 0)
        {
            Memory.MarkAccessed(pfn);
        }

        Memory.RemoveMapping(pfn);
        gather.RemovePage(pfn);
    }

    private bool IsFullyMapped(Hva start, Hva end)
    {
        var cursor = start;
        while (cursor < end)
        {
            var vma = FindVma(cursor);
            if (vma is null)
            {
                return false;
            }

            cursor = vma.End;
        }

        return true;
    }

    /// <summary>Splits the VMA containing <paramref name="at"/> (if it does not start there) into two.</summary>
    private void SplitAt(Hva at)
    {
        var vma = FindVma(at);
        if (vma is null || vma.Start == at)
        {
            return;
        }

        SplitHugePmdStraddling(at);
        var tail = SplitVma(vma, at);
        _vmas.Insert(_vmas.IndexOf(vma) + 1, tail);
    }
}
