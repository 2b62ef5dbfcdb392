using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Physical;

/// <summary>Reference counts, map counts and flags (<c>get_page</c>, <c>put_page</c>, <c>page_add_*_rmap</c>).</summary>
public sealed partial class PhysicalMemory
{
    /// <summary><c>get_page</c>: takes a reference on a frame the caller knows to be live.</summary>
    public void Get(Pfn pfn)
    {
        // A compare-exchange, not an add: on a free frame the low bits are the free-list link, which an add
        // would corrupt (and could carry into the flags).
        ref var state = ref _frames[pfn.Value].State;
        while (true)
        {
            var old = Volatile.Read(ref state);
            if ((old & FrameState.FlagBits(FrameFlags.Free)) != 0)
            {
                ReportUseAfterFree(pfn, new AccessSite("get_page", -1, 0), "referenced");
                return;
            }

            if (Interlocked.CompareExchange(ref state, old + FrameState.OneRef, old) == old)
            {
                return;
            }
        }
    }

    /// <summary>
    /// <c>folio_try_get</c>: takes a reference only if the frame is live (a walker that found the pfn without holding
    /// anything that keeps it alive, such as the LRU scan). False for a free frame.
    /// </summary>
    public bool TryGet(Pfn pfn)
    {
        ref var state = ref _frames[pfn.Value].State;
        while (true)
        {
            var old = Volatile.Read(ref state);
            if ((old & FrameState.FlagBits(FrameFlags.Free)) != 0 || (old & FrameState.RefMask) == 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref state, old + FrameState.OneRef, old) == old)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// <c>folio_ref_freeze</c>: if the frame has exactly <paramref name="expected"/> references, sets the count to zero
    /// so that no one can take a new one (<see cref="TryGet"/> fails, <see cref="Get"/> reports). Undo with
    /// <see cref="Unfreeze"/>, or free with <see cref="FreeFrozen"/>.
    /// </summary>
    public bool TryFreeze(Pfn pfn, int expected)
    {
        ref var state = ref _frames[pfn.Value].State;
        var old = Volatile.Read(ref state);
        return (old & FrameState.FlagBits(FrameFlags.Free)) == 0 && FrameState.RefCount(old) == expected
            && Interlocked.CompareExchange(ref state, old & ~FrameState.RefMask, old) == old;
    }

    /// <summary><c>folio_ref_unfreeze</c>: gives a frozen frame back its <paramref name="count"/> references.</summary>
    public void Unfreeze(Pfn pfn, int count) => Interlocked.Add(ref _frames[pfn.Value].State, (ulong)count);

    /// <summary>Frees a frame whose references were frozen away (<c>__remove_mapping</c> then <c>free_unref_folios</c>).</summary>
    public void FreeFrozen(Pfn pfn)
    {
        var state = StateOf(pfn);
        if (FrameState.RefCount(state) != 0 || FrameState.MapCount(state) != 0)
        {
            _violations.Report(ViolationKind.RefcountUnderflow, new AccessSite("free_frozen", -1, 0), pfn.Value,
                $"frame {pfn.Value} freed from a freeze with {FrameState.RefCount(state)} references and {FrameState.MapCount(state)} mappings");
        }

        PushFree(pfn.Value);
    }

    /// <summary><c>put_page</c>: drops a reference; the last one frees the frame (poisons it).</summary>
    public void Put(Pfn pfn)
    {
        SchedulingPoint.Atomic("put_page");
        ref var state = ref _frames[pfn.Value].State;
        while (true)
        {
            var old = Volatile.Read(ref state);
            if ((old & FrameState.FlagBits(FrameFlags.Free)) != 0 || (old & FrameState.RefMask) == 0)
            {
                _violations.Report(ViolationKind.RefcountUnderflow, new AccessSite("put_page", -1, 0), pfn.Value,
                    $"frame {pfn.Value} reference dropped below zero");
                return;
            }

            if (Interlocked.CompareExchange(ref state, old - FrameState.OneRef, old) != old)
            {
                continue;
            }

            if ((old & FrameState.RefMask) == 1)
            {
                if (pfn.IsZeroPage)
                {
                    _violations.Report(ViolationKind.RefcountUnderflow, new AccessSite("put_page", -1, 0), 0,
                        "the zero page lost its permanent reference");
                    return;
                }

                if ((FrameState.Flags(old) & FrameFlags.Locked) != 0)
                {
                    _violations.Report(ViolationKind.RefcountUnderflow, new AccessSite("put_page", -1, 0), pfn.Value,
                        $"frame {pfn.Value} freed while its page lock is held (bad page state)");
                }

                if (FrameState.MapCount(old) != 0)
                {
                    _violations.Report(ViolationKind.RefcountUnderflow, new AccessSite("put_page", -1, 0), pfn.Value,
                        $"frame {pfn.Value} freed while {FrameState.MapCount(old)} page-table entries map it");
                }

                PushFree(pfn.Value);
            }

            return;
        }
    }

    /// <summary>Counts one more page-table entry mapping the frame (and its reference).</summary>
    public void AddMapping(Pfn pfn) => AddMappingState(pfn, FrameState.OneMap + FrameState.OneRef);

    /// <summary>Counts one more mapping for a frame whose reference the caller hands over to the mapping.</summary>
    public void AddMappingKeepRef(Pfn pfn) => AddMappingState(pfn, FrameState.OneMap);

    /// <summary>
    /// <c>folio_add_*_rmap</c>: a compare-exchange, not an add, so that mapping a free frame (a stale PTE copied by
    /// fork, a broken walker's resurrected entry) is reported instead of corrupting the free-list link.
    /// </summary>
    private void AddMappingState(Pfn pfn, ulong delta)
    {
        if (pfn.IsZeroPage)
        {
            return;
        }

        ref var state = ref _frames[pfn.Value].State;
        while (true)
        {
            var old = Volatile.Read(ref state);
            if ((old & FrameState.FlagBits(FrameFlags.Free)) != 0)
            {
                ReportUseAfterFree(pfn, new AccessSite("page_add_rmap", -1, 0), "mapped");
                return;
            }

            if (Interlocked.CompareExchange(ref state, old + delta, old) == old)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Removes a page-table entry's map count. The mapping's reference is left for the caller to drop with
    /// <see cref="Put"/> once every secondary MMU is known to be done with the page (zap-before-free).
    /// </summary>
    public void RemoveMapping(Pfn pfn)
    {
        if (pfn.IsZeroPage)
        {
            return;
        }

        ref var word = ref _frames[pfn.Value].State;
        while (true)
        {
            var old = Volatile.Read(ref word);
            if ((old & FrameState.FlagBits(FrameFlags.Free)) != 0 || (old & FrameState.MapMask) == 0)
            {
                _violations.Report(ViolationKind.RefcountUnderflow, new AccessSite("rmap", -1, 0), pfn.Value,
                    (old & FrameState.FlagBits(FrameFlags.Free)) != 0
                        ? $"frame {pfn.Value} unmapped after it was freed"
                        : $"frame {pfn.Value} map count dropped below zero");
                return;
            }

            if (Interlocked.CompareExchange(ref word, old - FrameState.OneMap, old) == old)
            {
                return;
            }
        }
    }

    public void SetFlags(Pfn pfn, FrameFlags flags)
    {
        if (!pfn.IsZeroPage)
        {
            Interlocked.Or(ref _frames[pfn.Value].State, FrameState.FlagBits(flags));
        }
    }

    public void ClearFlags(Pfn pfn, FrameFlags flags) =>
        Interlocked.And(ref _frames[pfn.Value].State, ~FrameState.FlagBits(flags));

    /// <summary>Test-and-clear of flags; returns true if any of them was set.</summary>
    public bool TestAndClearFlags(Pfn pfn, FrameFlags flags)
    {
        var old = Interlocked.And(ref _frames[pfn.Value].State, ~FrameState.FlagBits(flags));
        return (old & FrameState.FlagBits(flags)) != 0;
    }

    /// <summary><c>set_page_dirty</c>: the frame's content now differs from its backing store.</summary>
    public void MarkDirty(Pfn pfn) => SetFlags(pfn, FrameFlags.Dirty);

    /// <summary><c>mark_page_accessed</c>: aging will treat the frame as recently used.</summary>
    public void MarkAccessed(Pfn pfn) => SetFlags(pfn, FrameFlags.Referenced);

    /// <summary>Copies a frame's content into another (COW, migration, swap-in), checking both ends.</summary>
    public void Copy(Pfn from, Pfn to, in AccessSite site) => Write(to, Read(from, site), site);
}
