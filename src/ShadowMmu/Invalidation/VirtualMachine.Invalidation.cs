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
    /// <c>kvm_mmu_notifier_invalidate_range_start</c>: under the write lock, for every memslot the hva range hits,
    /// in-progress++ (once) and widen the gfn range, zap the SPTEs (passing A/D bits to the host frames), then flush
    /// remote TLBs before unlocking. Never refuses: a non-blockable range (<c>may_block</c> false) only forbids
    /// sleeping, so the shootdown spins for the vCPUs' acknowledgements, as an IPI with wait does.
    /// </summary>
    internal bool OnInvalidateRangeStart(in NotifierRange range)
    {
        var t0 = Stopwatch.GetTimestamp();
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
                    BeginInvalidate();
                }

                AddInvalidateRange(gfnStart, gfnEnd);
                zapped += ZapGfnRange(gfnStart, gfnEnd);
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

    /// <summary><c>kvm_mmu_notifier_invalidate_range_end</c>: seq++ before in-progress-- (the pair lockless readers rely on).</summary>
    internal void OnInvalidateRangeEnd(in NotifierRange range)
    {
        _mmuLock.EnterWrite();
        try
        {
            if (HitsMemslot(range.Start, range.End))
            {
                // kvm_mmu_invalidate_end: "The above sequence increase must be visible before the below count decrease".
                Volatile.Write(ref _invalidateSeq, _invalidateSeq + 1);
                var inProgress = _invalidateInProgress - 1;
                if (inProgress < 0)
                {
                    Violations.Report(ShadowViolations.UnbalancedInvalidation, new AccessSite(Name, -1, range.Start.PageNumber), -1,
                        "mmu_invalidate_in_progress went below zero");
                    inProgress = 0;
                }

                Volatile.Write(ref _invalidateInProgress, inProgress);
                if (inProgress == 0)
                {
                    _invalidateRangeStart = _invalidateRangeEnd = InvalidGfn;
                }
            }

            _monitor.Close(range);
        }
        finally
        {
            _mmuLock.ExitWrite();
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
        _mmuLock.EnterWrite();
        try
        {
            Volatile.Write(ref _invalidateSeq, _invalidateSeq + 1);
            foreach (var slot in _memslots)
            {
                if (slot.GfnRangeOf(hva, end, out var gfnStart, out var gfnEnd))
                {
                    zapped += ZapGfnRange(gfnStart, gfnEnd);
                }
            }

            if (zapped > 0)
            {
                flushed = FlushRemoteTlbs();
            }
        }
        finally
        {
            _mmuLock.ExitWrite();
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
        }
        finally
        {
            _mmuLock.ExitWrite();
        }

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

    /// <summary><c>kvm_mmu_invalidate_begin</c>: first overlapping section resets the range.</summary>
    private void BeginInvalidate()
    {
        Volatile.Write(ref _invalidateInProgress, _invalidateInProgress + 1);
        if (_invalidateInProgress == 1)
        {
            _invalidateRangeStart = _invalidateRangeEnd = InvalidGfn;
        }
    }

    /// <summary>
    /// <c>kvm_mmu_invalidate_range_add</c>: set, or widen to the union ("fully tracking multiple concurrent ranges
    /// has diminishing returns").
    /// </summary>
    private void AddInvalidateRange(ulong start, ulong end)
    {
        if (_invalidateRangeStart == InvalidGfn)
        {
            _invalidateRangeStart = start;
            _invalidateRangeEnd = end;
        }
        else
        {
            _invalidateRangeStart = Math.Min(_invalidateRangeStart, start);
            _invalidateRangeEnd = Math.Max(_invalidateRangeEnd, end);
        }
    }
}
