using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>
/// A stand-in secondary MMU for the reclaim tests: it maps nothing, records every callback together with the state
/// of one watched page at that moment (its PTE, whether its frame is free), reports chosen pages as always young,
/// and can refuse non-blockable starts like a notifier that would have to sleep.
/// </summary>
public sealed class ProbeNotifier(HostSystem host) : IMmuNotifier
{
    // Guards _calls and _young.
    private readonly Lock _lock = new();
    private readonly List<ProbeCall> _calls = [];
    private readonly HashSet<Hva> _young = [];
    private volatile bool _refuseNonBlockable;

    /// <summary>The page whose PTE and frame each recorded call captures.</summary>
    public (AddressSpace Mm, Hva Hva, Pfn Pfn)? Watch { get; set; }

    /// <summary>Refuse every non-blockable <c>InvalidateRangeStart</c> (returns false, <c>-EAGAIN</c>).</summary>
    public bool RefuseNonBlockable
    {
        get => _refuseNonBlockable;
        set => _refuseNonBlockable = value;
    }

    /// <summary>A notifier that refuses starts has no end (<c>mn_hlist_invalidate_range_start</c> warns otherwise).</summary>
    public bool HasInvalidateRangeEnd => !_refuseNonBlockable;

    public IReadOnlyList<ProbeCall> Calls
    {
        get
        {
            lock (_lock)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>The invalidation callbacks (start, end, page) that cover <paramref name="hva"/>, in order.</summary>
    public IReadOnlyList<ProbeCall> InvalidationsOf(Hva hva) =>
        [.. Calls.Where(c => c.Kind is ProbeKind.RangeStart or ProbeKind.RangeEnd or ProbeKind.InvalidatePage && c.Covers(hva))];

    /// <summary>From now on the secondary reports <paramref name="hva"/> young on every aging call.</summary>
    public void KeepYoung(Hva hva)
    {
        lock (_lock)
        {
            _young.Add(hva);
        }
    }

    public string Dump() => string.Join(Environment.NewLine, Calls);

    public void Release(AddressSpace mm) => Record(mm, ProbeKind.Release, default, default, null, null, true, false);

    public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range)
    {
        var refuse = !range.Blockable && _refuseNonBlockable;
        Record(mm, ProbeKind.RangeStart, range.Start, range.End, range.Event, range.Cause, range.Blockable, refuse);
        return !refuse;
    }

    public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range) =>
        Record(mm, ProbeKind.RangeEnd, range.Start, range.End, range.Event, range.Cause, range.Blockable, false);

    public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause) =>
        Record(mm, ProbeKind.InvalidatePage, hva, hva + Hva.PageSize, null, cause, true, false);

    public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end) => Age(mm, ProbeKind.ClearFlushYoung, start, end);

    public bool ClearYoung(AddressSpace mm, Hva start, Hva end) => Age(mm, ProbeKind.ClearYoung, start, end);

    public bool TestYoung(AddressSpace mm, Hva hva) => Age(mm, ProbeKind.TestYoung, hva, hva + Hva.PageSize);

    private bool Age(AddressSpace mm, ProbeKind kind, Hva start, Hva end)
    {
        Record(mm, kind, start, end, null, null, true, false);
        lock (_lock)
        {
            return _young.Any(h => h >= start && h < end);
        }
    }

    private void Record(AddressSpace mm, ProbeKind kind, Hva start, Hva end, NotifierEvent? evt, InvalidationCause? cause, bool blockable, bool refused)
    {
        ulong pte = 0;
        var free = false;
        if (Watch is { } watch)
        {
            pte = watch.Mm.PteOf(watch.Hva);
            free = host.Memory.IsFree(watch.Pfn);
        }

        lock (_lock)
        {
            _calls.Add(new ProbeCall(_calls.Count, mm.Name, kind, start, end, evt, cause, blockable, refused, pte, free));
        }
    }
}
