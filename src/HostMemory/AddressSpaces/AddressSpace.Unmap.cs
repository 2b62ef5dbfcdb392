using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>Removing mappings: <c>munmap</c>, <c>madvise(MADV_DONTNEED)</c>, and exit.</summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>munmap</c>: range start (<see cref="NotifierEvent.Unmap"/>), clear the PTEs, range end, then free the
    /// pages (<c>tlb_finish_mmu</c> frees after the end), remove the VMAs and free emptied page tables.
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

        ZapWithNotifiers(new NotifierRange(start, end, NotifierEvent.Unmap, InvalidationCause.Munmap));
        RemoveVmaRange(start, end);
        PageTable.FreeEmptyTables(start.PageNumber, end.PageNumber);
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

        ZapWithNotifiers(new NotifierRange(start, end, NotifierEvent.Clear, InvalidationCause.MadviseDontNeed));
        Host.Count(HostCounter.MadviseDontNeeds);
        return HostStatus.Ok;
    }

    /// <summary>
    /// <c>mmput</c>: drops a user; the last one tears the address space down (<c>exit_mmap</c>):
    /// <c>Release</c> on every notifier first, then the pages are freed.
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
        var gather = new List<Pfn>();
        foreach (var vma in _vmas)
        {
            // No range callbacks here: after release the kernel's notifier list is empty.
            ZapRange(vma.Start, vma.End, gather);
            PageTable.FreeEmptyTables(vma.Start.PageNumber, vma.End.PageNumber);
        }

        _vmas.Clear();
        FreeGathered(gather);
        Host.Count(HostCounter.Exits);
    }

    /// <summary>start, zap, end, then free: the order every unmapping path follows.</summary>
    private void ZapWithNotifiers(in NotifierRange range)
    {
        if ((Host.Mutations & HostMutations.FreeBeforeInvalidate) != 0)
        {
            // The broken order: the secondary MMU still maps the pages while they go back to the allocator.
            var early = new List<Pfn>();
            ZapRange(range.Start, range.End, early);
            FreeGathered(early);
            Notifiers.InvalidateRangeStart(range);
            Notifiers.InvalidateRangeEnd(range);
            return;
        }

        Notifiers.InvalidateRangeStart(range);
        var gather = new List<Pfn>();
        ZapRange(range.Start, range.End, gather);
        Notifiers.InvalidateRangeEnd(range);
        FreeGathered(gather);
    }

    private void FreeGathered(List<Pfn> gather)
    {
        foreach (var pfn in gather)
        {
            Memory.Put(pfn);
        }
    }

    /// <summary>
    /// <c>zap_pte_range</c>: clears every PTE in [start, end), moving dirty and accessed bits to the frames and
    /// releasing swap slots. The mappings' references are gathered for the caller to drop after the notifiers
    /// are done (zap-before-free).
    /// </summary>
    internal void ZapRange(Hva start, Hva end, List<Pfn> gather)
    {
        var startVpn = start.PageNumber;
        var endVpn = end.PageNumber;
        PageTable.ForEachTable(startVpn, endVpn, (baseVpn, table, from, to) =>
        {
            using (table.Ptl.Enter())
            {
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
                        Host.Swap.Free(Pte.SwapSlotOf(pte));
                    }

                    Volatile.Write(ref table.Slots[j], 0UL);
                    table.Used--;
                }
            }
        });
    }

    private void ReleasePresentPte(ulong pte, List<Pfn> gather)
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
        gather.Add(pfn);
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

    /// <summary>Removes [start, end) from the VMA list, splitting VMAs that straddle its edges.</summary>
    private void RemoveVmaRange(Hva start, Hva end)
    {
        SplitAt(start);
        SplitAt(end);
        _vmas.RemoveAll(v => v.Start >= start && v.End <= end);
    }

    /// <summary>Splits the VMA containing <paramref name="at"/> (if it does not start there) into two.</summary>
    private void SplitAt(Hva at)
    {
        var vma = FindVma(at);
        if (vma is null || vma.Start == at)
        {
            return;
        }

        var tail = vma.CloneRange(at, vma.End);
        vma.End = at;
        _vmas.Insert(_vmas.IndexOf(vma) + 1, tail);
    }
}
