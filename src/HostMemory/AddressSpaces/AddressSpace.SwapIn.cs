using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;

namespace Hypervisor.HostMemory.AddressSpaces;

/// <summary>Swap-in faults (<c>do_swap_page</c>): from the swap cache (minor) or from the swap slot (major).</summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>do_swap_page</c>: a swap PTE. If the page is still in the swap cache (reclaim unmapped it but has not freed
    /// it yet) the same frame is mapped again: a minor fault. Otherwise the content is read from the slot into a new,
    /// exclusive frame.
    /// </summary>
    private HostStatus SwapInFault(Vma vma, ulong vpn, PteTable table, int i, ulong swapPte, bool write)
    {
        var slot = Pte.SwapSlotOf(swapPte);
        if (Host.SwapCache.TryGet(slot, out var cached))
        {
            return SwapCacheFault(vma, table, i, swapPte, slot, cached, write);
        }

        if (!Memory.TryAllocate(FrameFlags.Anon, 0, out var pfn))
        {
            return CountFailure(HostStatus.OutOfMemory);
        }

        SetAnonRmap(vma, vpn, pfn);
        var installed = false;
        using (table.Ptl.Enter())
        {
            if (table.Slots[i] == swapPte)
            {
                Memory.Write(pfn, Host.Swap.Load(slot), new AccessSite("swap-in", -1, (ulong)slot));
                var bits = Pte.Accessed | (vma.CanWrite ? Pte.Writable : 0) | (write ? Pte.Dirty : 0);
                Volatile.Write(ref table.Slots[i], Pte.Make(pfn, bits));
                Memory.AddMappingKeepRef(pfn);
                installed = true;
            }
        }

        if (!installed)
        {
            Memory.Put(pfn);
            return HostStatus.Ok;
        }

        Host.Swap.Free(slot);
        Host.Count(HostCounter.SwapIns);
        return HostStatus.Ok;
    }

    /// <summary>
    /// <c>do_swap_page</c> on a swap-cache hit: <c>folio_lock_or_retry</c> (waits while reclaim works on the page),
    /// still cached for this slot, <c>pte_same</c> under the PTL, map, <c>swap_free</c>; when no swap PTE is left,
    /// <c>folio_free_swap</c> takes the page out of the cache. Writable only if no one else can see the page
    /// (no other swap PTE and no mapping), else a later write copies. <paramref name="cached"/> comes with a reference.
    /// </summary>
    /// <remarks>
    /// The lookup's reference, when it is not handed to a mapping, is dropped after the page lock
    /// (<c>out_page: folio_unlock</c>, then <c>out_release: folio_put</c>): by then the page may have left the
    /// swap cache and lost every mapping, so this reference can be its last, and a page must never be freed locked.
    /// </remarks>
    private HostStatus SwapCacheFault(Vma vma, PteTable table, int i, ulong swapPte, int slot, Pfn cached, bool write)
    {
        var release = false;
        Memory.LockPage(cached);
        try
        {
            if (!Host.SwapCache.TrySlotOf(cached, out var current) || current != slot)
            {
                release = true; // the page left the cache for this slot meanwhile: walk again
                return HostStatus.Ok;
            }

            var installed = false;
            var writable = false;
            using (table.Ptl.Enter())
            {
                if (table.Slots[i] == swapPte)
                {
                    writable = vma.CanWrite && Host.Swap.UseCount(slot) == 2 && Memory.MapCount(cached) == 0;
                    var bits = Pte.Accessed | (writable ? Pte.Writable : 0) | (write && writable ? Pte.Dirty : 0);
                    Volatile.Write(ref table.Slots[i], Pte.Make(cached, bits));
                    Memory.AddMappingKeepRef(cached); // the lookup's reference becomes the mapping's
                    if (writable)
                    {
                        Memory.ClearWriteWatch(cached);
                    }

                    installed = true;
                }
            }

            if (!installed)
            {
                release = true; // pte_same failed: a racing fault or zap changed the entry
                return HostStatus.Ok;
            }

            if (write && writable)
            {
                Memory.MarkDirty(cached);
            }

            Host.Swap.Free(slot);
            if (Host.Swap.UseCount(slot) == 1)
            {
                // folio_free_swap: only the cache still uses the slot. The slot's copy is stale from the next write on,
                // so the page is dirty again, and the cache's reference goes with it.
                Host.SwapCache.Delete(cached);
                Memory.MarkDirty(cached);
                Memory.Put(cached);
            }

            Host.Count(HostCounter.SwapIns);
            Host.Count(HostCounter.SwapCacheHits);
            return HostStatus.Ok;
        }
        finally
        {
            Memory.UnlockPage(cached);
            if (release)
            {
                Memory.Put(cached);
            }
        }
    }
}
