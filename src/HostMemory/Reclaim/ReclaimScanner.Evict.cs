using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Rmap;
using Hypervisor.HostMemory.Writeback;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>Evicting one page: <c>shrink_folio_list</c>'s body for one folio.</summary>
public sealed partial class ReclaimScanner
{
    /// <summary>
    /// One page, in the kernel's order: isolate (a reference) and <c>folio_trylock</c>; <c>folio_check_references</c>
    /// (young: keep); anonymous: <c>add_to_swap</c>; <c>try_to_unmap</c> (every mapping, each inside its own notifier
    /// section); still mapped: keep; dirty: <c>pageout</c> (after the last range end: the secondaries were zapped and
    /// flushed first, so their writes reached the page); <c>__remove_mapping</c>: freeze the references (a refault or a
    /// get_user_pages reference taken meanwhile makes it fail), then test dirty, then drop it from the swap or page cache
    /// and free it.
    /// </summary>
    private void ShrinkFolio(Pfn pfn, ReclaimPassState pass)
    {
        var state = Memory.StateOf(pfn);
        var flags = FrameState.Flags(state);
        if (pfn.IsZeroPage || (flags & (FrameFlags.Free | FrameFlags.Ksm | FrameFlags.Locked)) != 0)
        {
            return;
        }

        var anon = (flags & FrameFlags.Anon) != 0;
        FileObject? file = null;
        if (anon)
        {
            // Not on the LRU: an anonymous page that is neither mapped nor in the swap cache is on its way to be freed.
            if (!SwapEnabled || (FrameState.MapCount(state) == 0 && (flags & FrameFlags.SwapCache) == 0))
            {
                return;
            }
        }
        else if ((flags & FrameFlags.PageCache) == 0
            || _host.Rmap.Lookup(Memory.RmapMapping(pfn)) is not FileObject { IsShmem: false } cacheFile)
        {
            return; // not reclaimable here: page tables, shared memory (no swap entry for a shared mapping), KSM
        }
        else
        {
            file = cacheFile;
        }

        if (!Memory.TryGet(pfn))
        {
            return;
        }

        if (!Memory.TryLockPage(pfn))
        {
            pass.Contended++;
            Memory.Put(pfn);
            return;
        }

        var isolated = true;
        try
        {
            pass.Scanned++;
            if (Memory.MapCount(pfn) > 0 && !pass.IgnoreYoung)
            {
                var references = _aging.Referenced(pfn, pageLocked: true);
                if (references.Contended)
                {
                    pass.Contended++;
                    return;
                }

                if (references.Referenced > 0)
                {
                    pass.Young++;
                    return; // folio_check_references: FOLIOREF_ACTIVATE
                }
            }

            var freed = anon ? EvictAnon(pfn, pass) : EvictFile(pfn, file!, pass);
            if (freed)
            {
                isolated = false;
                pass.FramesFreed++;
            }
        }
        finally
        {
            if (isolated)
            {
                Memory.UnlockPage(pfn);
                Memory.Put(pfn);
            }

            pass.FireAfterFree();
        }
    }

    /// <summary>Anonymous: swap cache, unmap, pageout, free. True if the frame was freed (and is no longer locked).</summary>
    private bool EvictAnon(Pfn pfn, ReclaimPassState pass)
    {
        if (!_host.SwapCache.TrySlotOf(pfn, out var slot) && !_host.SwapCache.TryAdd(pfn, out slot))
        {
            return false; // swap is full
        }

        if (Memory.MapCount(pfn) > 0)
        {
            var unmapped = TryToUnmap(pfn, slot, pass);
            pass.SwappedOut += unmapped;
            if (unmapped > 0)
            {
                _host.Count(HostCounter.SwapOuts, unmapped);
            }
        }

        if (Memory.MapCount(pfn) > 0)
        {
            return false; // a mapping was busy or new: keep it (activate)
        }

        if (Memory.TestAndClearFlags(pfn, FrameFlags.Dirty))
        {
            // pageout → swap_writepage, synchronously (a zram-like device), after the unmap's range end.
            _host.Swap.Store(slot, Memory.Read(pfn, new AccessSite("pageout", -1, (ulong)slot)));
        }

        AfterPageout?.Invoke(pfn);

        // __remove_mapping: our isolation reference plus the swap cache's; "refcount first, then dirty".
        if (!Memory.TryFreeze(pfn, 2))
        {
            return false; // a refault mapped it again, or a get_user_pages reference is in flight
        }

        if ((Memory.Flags(pfn) & FrameFlags.Dirty) != 0)
        {
            Memory.Unfreeze(pfn, 2);
            return false;
        }

        _host.SwapCache.Delete(pfn);
        Memory.UnlockPage(pfn);
        Memory.FreeFrozen(pfn);
        return true;
    }

    /// <summary>Page cache: unmap, write back if dirty, drop from the cache, free. True if the frame was freed.</summary>
    private bool EvictFile(Pfn pfn, FileObject file, ReclaimPassState pass)
    {
        if (Memory.MapCount(pfn) > 0)
        {
            pass.FileUnmapped += TryToUnmap(pfn, slot: -1, pass, file);
        }

        if (Memory.MapCount(pfn) > 0)
        {
            return false;
        }

        var index = Memory.RmapIndex(pfn);
        if (PageWriteback.WriteBackIfDirty(_host, file, index, pfn))
        {
            pass.WrittenBack++;
        }

        AfterPageout?.Invoke(pfn);
        if (!file.TryRemoveFrozen(index, pfn, Memory))
        {
            return false;
        }

        Memory.UnlockPage(pfn);
        Memory.FreeFrozen(pfn);
        return true;
    }

    /// <summary>
    /// <c>try_to_unmap</c>: an rmap walk whose every mapping is replaced by a swap entry for <paramref name="slot"/>
    /// (anonymous) or cleared (page cache), then, for a file with nonlinear VMAs, <c>try_to_unmap_cluster</c> rounds.
    /// Returns the mappings removed.
    /// </summary>
    private int TryToUnmap(Pfn pfn, int slot, ReclaimPassState pass, FileObject? file = null)
    {
        var one = new TryToUnmapOne(_host, pfn, slot, pass.AfterFree);
        var nonlinear = file is { IMmapNonlinear.Count: > 0 } ? new UnmapCluster.Run(_host, pfn) : null;
        if (RmapWalk.Walk(_host, pfn, ref one, tryLock: true, nonlinear: nonlinear is null ? null : nonlinear.Unmap) == RmapWalkStatus.Contended)
        {
            pass.Contended++;
            _host.Count(HostCounter.RmapContended);
        }

        return one.Unmapped + (nonlinear?.Unmapped ?? 0);
    }

    /// <summary>
    /// <c>try_to_unmap_one</c> for one VMA. Modern: <c>range_start(CLEAR, [address, vma_address_end))</c> before the
    /// page-table lock, <c>range_end</c> after it, around the unmap only (pageout comes after the walk). Legacy2008:
    /// a plain clear under the lock, then <c>invalidate_page</c> after <c>pte_unmap_unlock</c>; safe because the
    /// caller's isolation reference keeps the page from being freed before it.
    /// </summary>
    private struct TryToUnmapOne(HostSystem host, Pfn pfn, int slot, List<PageInvalidation> afterFree) : IRmapOne
    {
        public int Unmapped;

        public bool Visit(Vma vma, Hva address)
        {
            var memory = host.Memory;
            var inv = new PageInvalidation(vma.Mm, address, NotifierEvent.Clear, InvalidationCause.Reclaim);
            if (!inv.Start())
            {
                return true;
            }

            var changed = false;
            if (MappedPte.TryMap(host, vma, address, pfn, "try_to_unmap", migration: false, out var mapped))
            {
                using (mapped)
                {
                    // TTU_IGNORE_ACCESS (v5.11+): no young test here; folio_referenced already decided.
                    if ((mapped.Pte & Pte.Dirty) != 0)
                    {
                        memory.MarkDirty(pfn);
                    }

                    if (slot >= 0)
                    {
                        host.Swap.Duplicate(slot); // swap_duplicate: the swap PTE's use of the slot
                        Volatile.Write(ref mapped.Entry, Pte.MakeSwap(slot));
                    }
                    else
                    {
                        Volatile.Write(ref mapped.Entry, 0UL);
                        mapped.Table.Used--;
                    }

                    memory.RemoveMapping(pfn);
                    changed = true;
                }
            }

            inv.AfterPteChange(changed);
            inv.End();
            if (changed)
            {
                memory.Put(pfn); // the mapping's reference; never the last (the isolation reference is ours)
                Unmapped++;
                if (inv.InvalidatesAfterFree)
                {
                    afterFree.Add(inv); // the broken variant tells the secondary only once the page was freed
                }
            }

            return true;
        }
    }
}
