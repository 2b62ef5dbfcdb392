using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Invalidation;

namespace Hypervisor.ShadowMmu.Vms;

/// <summary>
/// The notifier side (<c>kvm_mmu_notifier_invalidate_range_start/end</c>, <c>invalidate_page</c>, <c>release</c>).
/// Every zap happens under the MMU write lock and is followed, still under the lock, by a remote TLB flush that
/// waits for the vCPUs in guest mode: when a start returns, no SPTE and no TLB entry maps the range.
/// </summary>
public sealed partial class VirtualMachine
{
    /// <summary>
    /// <c>kvm_mmu_notifier_invalidate_range_start</c>: raise <c>mn_active_invalidate_count</c> and invalidate the pfn
    /// caches over the range; then, under the write lock, for every memslot the hva range hits,
    /// in-progress++ (once) and widen the gfn range, zap the SPTEs (passing A/D bits to the host frames), then flush
    /// remote TLBs before unlocking. Never refuses: a non-blockable range (<c>may_block</c> false) only forbids
    /// sleeping, so the shootdown spins for the vCPUs' acknowledgements, as an IPI with wait does.
    /// </summary>
    internal bool OnInvalidateRangeStart(in NotifierRange range)
    {
        var t0 = Stopwatch.GetTimestamp();
        BeginActiveInvalidate(range.Start, range.End);
        _mmuLock.EnterWrite();

        int zapped = 0, flushed = -1;
        try
        {
            var hit = false;
            foreach (var slot in _memslots)
            {
                if (!slot.GfnRangeOf(range.Start, range.End, out var gfnStart, out var gfnEnd))
                {
                    continue;
                }

                if (!hit)
                {
                    hit = true;
                    _invalidation.Begin();
                }

                _invalidation.AddRange(gfnStart, gfnEnd);
                zapped += ZapGfnRange(gfnStart, gfnEnd);
                if ((Options.Mutations & ShadowMutations.HvaRangeFirstSlotOnly) != 0)
                {
                    break; // broken variant: an alias of the range keeps its SPTEs
                }
            }

            _monitor.Open(range);
            if (zapped > 0)
            {
                flushed = FlushRemoteTlbs(mayBlock: range.Blockable);
            }
        }
        finally
        {
            _mmuLock.ExitWrite();
        }

        Stats.RangeStart(range.Cause, range.Event);
        Stats.Zapped(zapped);
        InvalidationObserver?.Invoke(new InvalidationRecord(Name, range.Cause, range.Event, range.Start, range.End,
            zapped, Math.Max(flushed, 0), Stopwatch.GetElapsedTime(t0), SinglePage: false, TlbFlushed: flushed >= 0));
        return true;
    }

    /// <summary>
    /// <c>kvm_mmu_notifier_invalidate_range_end</c>: under the write lock <c>kvm_mmu_invalidate_end</c> (seq++ before
    /// in-progress--), then, after the unlock, <c>mn_active_invalidate_count--</c>: the sequence increase is visible
    /// before either count decrease, which is what the lockless readers (the fault path's pre-check, the pfn caches'
    /// <c>mmu_notifier_retry_cache</c>) rely on.
    /// </summary>
    internal void OnInvalidateRangeEnd(in NotifierRange range)
    {
        var swapped = (Options.Mutations & ShadowMutations.EndOrderSwapped) != 0;
        if (swapped)
        {
            EndActiveInvalidate(); // the broken variant: the count drops before the sequence moves
        }

        if (HitsMemslot(range.Start, range.End))
        {
            // Only in the seq-atomicity experiment's modes: the increase made before the lock, not in End.
            _invalidation.IncrementSeqOutsideLock();
        }

        _mmuLock.EnterWrite();
        try
        {
            if (HitsMemslot(range.Start, range.End))
            {
                if (!_invalidation.End())
                {
                    Violations.Report(ShadowViolations.UnbalancedInvalidation, new AccessSite(Name, -1, range.Start.PageNumber), -1,
                        "mmu_invalidate_in_progress went below zero");
                }
            }

            _monitor.Close(range);
        }
        finally
        {
            _mmuLock.ExitWrite();
        }

        if (!swapped)
        {
            // "Pairs with the increment in range_start()."
            EndActiveInvalidate();
        }

        Stats.RangeEnd();
    }

    /// <summary>
    /// Legacy <c>kvm_mmu_notifier_invalidate_page</c> (≤ v4.12): under the lock, seq++ (there is no start/end
    /// around it), zap the page's SPTEs, flush.
    /// </summary>
    internal void OnInvalidatePage(Hva hva, InvalidationCause cause)
    {
        var t0 = Stopwatch.GetTimestamp();
        var end = hva + Hva.PageSize;
        int zapped = 0, flushed = -1;
        var swapped = (Options.Mutations & ShadowMutations.EndOrderSwapped) != 0;
        // No pfn cache existed in 2008; the simulator's caches are kept coherent here as a start/end pair would keep them.
        BeginActiveInvalidate(hva, end);
        if (swapped)
        {
            EndActiveInvalidate();
        }

        _invalidation.IncrementSeqOutsideLock();
        _mmuLock.EnterWrite();
        var locked = Stopwatch.GetTimestamp();
        try
        {
            _invalidation.BumpSeq();
            var hit = false;
            foreach (var slot in _memslots)
            {
                if (slot.GfnRangeOf(hva, end, out var gfnStart, out var gfnEnd))
                {
                    hit = true;
                    zapped += ZapGfnRange(gfnStart, gfnEnd);
                }
            }

            if (zapped > 0)
            {
                flushed = FlushRemoteTlbs();
            }

            if (hit)
            {
                // A fault that sampled the sequence before this call and reaches the lock after it retries; one that
                // reaches the lock meanwhile waits: the single-page call's masked window is its hold of the lock.
                _invalidation.AddMaskedWindow(Stopwatch.GetTimestamp() - locked);
            }
        }
        finally
        {
            _mmuLock.ExitWrite();
        }

        if (!swapped)
        {
            EndActiveInvalidate();
        }

        Stats.InvalidatePage(cause);
        Stats.Zapped(zapped);
        InvalidationObserver?.Invoke(new InvalidationRecord(Name, cause, NotifierEvent.Clear, hva, end,
            zapped, Math.Max(flushed, 0), Stopwatch.GetElapsedTime(t0), SinglePage: true, TlbFlushed: flushed >= 0));
    }

    /// <summary>
    /// <c>kvm_mmu_notifier_release</c>: zap everything and flush, and refuse later installs. Idempotent: a second
    /// call finds nothing to zap.
    /// </summary>
    internal void OnRelease()
    {
        var t0 = Stopwatch.GetTimestamp();
        int zapped = 0, flushed = -1;
        _mmuLock.EnterWrite();
        try
        {
            _released = true;
            foreach (var slot in _memslots)
            {
                zapped += ZapGfnRange(slot.BaseGfn, slot.EndGfn);
            }

            if (zapped > 0)
            {
                flushed = FlushRemoteTlbs();
            }

            // kvm_mmu_zap_all: the shadow pages themselves go too (their leaf SPTEs are already clear).
            Shadow?.ZapAll();
        }
        finally
        {
            _mmuLock.ExitWrite();
        }

        // The released VM stops using its pfn caches (a refresh checks Released under the cache's lock).
        InvalidateAllPfnCaches();
        Stats.Released();
        Stats.Zapped(zapped);
        var all = _memslots.Length == 0 ? (Start: default(Hva), End: default(Hva))
            : (Start: _memslots.Min(s => s.UserspaceAddress), End: _memslots.Max(s => s.EndHva));
        InvalidationObserver?.Invoke(new InvalidationRecord(Name, InvalidationCause.Exit, NotifierEvent.Release, all.Start, all.End,
            zapped, Math.Max(flushed, 0), Stopwatch.GetElapsedTime(t0), SinglePage: false, TlbFlushed: flushed >= 0));
    }

    private bool HitsMemslot(Hva start, Hva end)
    {
        foreach (var slot in _memslots)
        {
            if (slot.GfnRangeOf(start, end, out _, out _))
            {
                return true;
            }
        }

        return false;
    }
}
