using System.Diagnostics;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Physical;

/// <summary>
/// The swap cache (mm/swap_state.c): anonymous pages that have a swap slot and are still in memory, found by slot
/// (<c>swap_cache_get_folio</c>) and by frame. A page enters it before reclaim unmaps it (<c>add_to_swap</c>) and
/// leaves it when reclaim frees it (<c>__remove_mapping</c>, after freezing its references) or when a refault takes it
/// back for good (<c>folio_free_swap</c>). While it is there, a refault of any of its swap PTEs maps the same frame:
/// a minor fault (P13). The cache holds one reference on each page and one use of each slot (<c>SWAP_HAS_CACHE</c>).
/// </summary>
public sealed class SwapCache
{
    private readonly PhysicalMemory _memory;
    private readonly SwapDevice _swap;

    // The swap cache's xarray lock: guards both maps and the SwapCache flag's meaning.
    private readonly ProtocolLock _lock = new("swap cache i_pages lock");
    private readonly Dictionary<int, Pfn> _bySlot = [];
    private readonly Dictionary<int, int> _byFrame = [];

    public SwapCache(PhysicalMemory memory, SwapDevice swap)
    {
        _memory = memory;
        _swap = swap;
    }

    /// <summary>Pages in the swap cache now.</summary>
    public int Count
    {
        get
        {
            using (_lock.EnterScope())
            {
                return _bySlot.Count;
            }
        }
    }

    /// <summary>
    /// <c>add_to_swap</c>: allocates a slot for <paramref name="pfn"/> and adds the page to the cache (one more
    /// reference, <see cref="FrameFlags.SwapCache"/>, dirty so it is written before it is freed). Caller holds the page
    /// lock. False when the device is full.
    /// </summary>
    public bool TryAdd(Pfn pfn, out int slot)
    {
        Debug.Assert(_memory.IsPageLocked(pfn), "add_to_swap: the caller holds the folio lock");
        if (!_swap.TryStore(0, out slot))
        {
            return false;
        }

        _memory.Get(pfn);
        using (_lock.EnterScope())
        {
            _bySlot.Add(slot, pfn);
            _byFrame.Add(pfn.Value, slot);
            _memory.SetFlags(pfn, FrameFlags.SwapCache | FrameFlags.Dirty);
        }

        return true;
    }

    /// <summary><c>folio-&gt;swap</c>: the slot of a page in the cache.</summary>
    public bool TrySlotOf(Pfn pfn, out int slot)
    {
        using (_lock.EnterScope())
        {
            return _byFrame.TryGetValue(pfn.Value, out slot);
        }
    }

    /// <summary>
    /// <c>swap_cache_get_folio</c>: the page cached for <paramref name="slot"/>, with a reference taken under the
    /// cache lock (so it cannot be freed meanwhile). False if none.
    /// </summary>
    public bool TryGet(int slot, out Pfn pfn)
    {
        using (_lock.EnterScope())
        {
            return _bySlot.TryGetValue(slot, out pfn) && _memory.TryGet(pfn);
        }
    }

    /// <summary>
    /// <c>__delete_from_swap_cache</c> + <c>put_swap_folio</c>: removes the page from the cache and releases the cache's
    /// use of the slot. The cache's reference on the page is the caller's to drop (or already frozen away). Caller holds
    /// the page lock.
    /// </summary>
    public void Delete(Pfn pfn)
    {
        Debug.Assert(_memory.IsPageLocked(pfn), "__delete_from_swap_cache: the caller holds the folio lock");
        int slot;
        using (_lock.EnterScope())
        {
            if (!_byFrame.Remove(pfn.Value, out slot))
            {
                return;
            }

            _bySlot.Remove(slot);
            _memory.ClearFlags(pfn, FrameFlags.SwapCache);
        }

        _swap.Free(slot);
    }

    /// <summary>
    /// <c>free_swap_and_cache</c>'s second half (<c>__try_to_reclaim_swap</c>): after a zap dropped a swap PTE, if only
    /// the cache still uses <paramref name="slot"/> and its page is unmapped and not locked by anyone, the page leaves
    /// the cache and is freed with the slot. Never waits (the zap holds a page-table lock).
    /// </summary>
    public void TryFreeOrphan(int slot)
    {
        if (_swap.UseCount(slot) != 1 || !TryGet(slot, out var pfn))
        {
            return;
        }

        if (_memory.TryLockPage(pfn))
        {
            if (TrySlotOf(pfn, out var current) && current == slot && _swap.UseCount(slot) == 1 && _memory.MapCount(pfn) == 0)
            {
                Delete(pfn);
                _memory.Put(pfn); // the cache's reference
            }

            _memory.UnlockPage(pfn);
        }

        _memory.Put(pfn);
    }
}
