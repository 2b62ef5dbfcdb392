using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Physical;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.HostMemory.Reclaim;

/// <summary>
/// The OOM reaper (<c>mm/oom_kill.c</c>, <c>__oom_reap_task_mm</c>): when the host is out of frames even after
/// direct reclaim, take the private memory of the largest address space away from it without waiting for the
/// process to exit. The victim is marked first (<see cref="AddressSpace.IsOomReaped"/>, the kernel's
/// <c>MMF_UNSTABLE</c>) so its later faults fail instead of reading zeroes.
/// </summary>
/// <remarks>
/// The reaper must not block: it takes the mmap lock with a try-lock and invalidates each VMA with a
/// <b>non-blockable</b> range start. A notifier that would have to wait refuses; then, as the kernel requires,
/// the reaper changes no PTE in that range and does not call the end, and keeps the range to retry on a later
/// step. Shared mappings are left alone: their pages belong to files and shared memory, not to the victim.
/// </remarks>
public sealed class OomReaper
{
    private readonly HostSystem _host;

    // Guards _deferred: ranges refused by a notifier (or whose space was busy), retried before any new victim.
    private readonly ProtocolLock _deferredLock = new("oom_reaper_lock");
    private readonly List<(AddressSpace Mm, Hva Start, Hva End)> _deferred = [];

    public OomReaper(HostSystem host) => _host = host;

    private PhysicalMemory Memory => _host.Memory;

    /// <summary>Ranges waiting for a retry.</summary>
    public int DeferredRanges
    {
        get
        {
            using (_deferredLock.EnterScope())
            {
                return _deferred.Count;
            }
        }
    }

    /// <summary>
    /// One reaper step: retry the deferred ranges of one earlier victim if there are any, else pick the largest
    /// live address space not yet reaped and not in <paramref name="protectedSpaces"/>, mark it and reap it.
    /// </summary>
    public OomReapResult ReapOnce(IReadOnlyCollection<AddressSpace>? protectedSpaces = null)
    {
        var (victim, ranges) = TakeDeferred();
        victim ??= ChooseVictim(protectedSpaces);
        if (victim is null)
        {
            return default;
        }

        if (!victim.TryEnterScan(out var scope))
        {
            // mmap_read_trylock failed: nothing was touched; a deferred victim keeps its ranges, a new one is
            // simply chosen again next time.
            if (ranges is not null)
            {
                Defer(victim, ranges);
            }

            return new OomReapResult(victim.Name, 0, ranges?.Count ?? 0, 0, false);
        }

        using (scope)
        {
            if (victim.IsDead)
            {
                return new OomReapResult(victim.Name, 0, 0, 0, true); // exit already freed everything
            }

            victim.MarkOomReaped(); // before any PTE goes, so no fault can fill the space with zero pages again
            ranges ??= [.. victim.VmasLocked.Where(v => v.IsCowMapping).Select(v => (v.Start, v.End))];
            var deferred = new List<(Hva, Hva)>();
            var reaped = 0;
            long freed = 0;
            foreach (var (start, end) in ranges)
            {
                // A deferred range is re-cut against the private VMAs of now: the space may have changed since.
                foreach (var vma in victim.VmasLocked.Where(v => v.IsCowMapping && v.Start < end && start < v.End).ToList())
                {
                    freed += ReapRange(victim, Max(start, vma.Start), Min(end, vma.End), deferred, ref reaped);
                }
            }

            if (deferred.Count > 0)
            {
                Defer(victim, deferred);
            }
            else
            {
                _host.Count(HostCounter.OomReaps);
            }

            return new OomReapResult(victim.Name, reaped, deferred.Count, freed, deferred.Count == 0);
        }
    }

    private static Hva Max(Hva a, Hva b) => a > b ? a : b;

    private static Hva Min(Hva a, Hva b) => a < b ? a : b;

    /// <summary>Non-blockable start; if refused, defer the range and touch nothing; else zap, end, then free.</summary>
    private long ReapRange(AddressSpace mm, Hva start, Hva end, List<(Hva, Hva)> deferred, ref int reaped)
    {
        var range = new NotifierRange(start, end, NotifierEvent.Clear, InvalidationCause.OomReap, Blockable: false);
        if (!mm.Notifiers.InvalidateRangeStart(range))
        {
            deferred.Add((start, end)); // -EAGAIN: no PTE change and no end for this range
            return 0;
        }

        var gather = new MmuGather(_host);
        mm.ZapRange(start, end, gather);
        mm.Notifiers.InvalidateRangeEnd(range);
        gather.Finish();
        reaped++;
        return gather.LastReferencesDropped;
    }

    private (AddressSpace? Victim, List<(Hva, Hva)>? Ranges) TakeDeferred()
    {
        using (_deferredLock.EnterScope())
        {
            _deferred.RemoveAll(d => d.Mm.IsDead);
            if (_deferred.Count == 0)
            {
                return (null, null);
            }

            var victim = _deferred[0].Mm;
            var ranges = _deferred.Where(d => d.Mm == victim).Select(d => (d.Start, d.End)).ToList();
            _deferred.RemoveAll(d => d.Mm == victim);
            return (victim, ranges);
        }
    }

    private void Defer(AddressSpace mm, IEnumerable<(Hva Start, Hva End)> ranges)
    {
        using (_deferredLock.EnterScope())
        {
            _deferred.AddRange(ranges.Select(r => (mm, r.Start, r.End)));
        }
    }

    /// <summary>
    /// <c>oom_badness</c>, roughly: the space with the most page-table entries in use (resident plus swapped; a
    /// table shared by two VMAs counts twice). Spaces whose mmap lock is busy are not considered this time.
    /// </summary>
    private AddressSpace? ChooseVictim(IReadOnlyCollection<AddressSpace>? protectedSpaces)
    {
        AddressSpace? best = null;
        long bestSize = -1;
        foreach (var mm in _host.LiveAddressSpaces())
        {
            if (mm.IsOomReaped || (protectedSpaces?.Contains(mm) ?? false) || !mm.TryEnterScan(out var scope))
            {
                continue;
            }

            using (scope)
            {
                long size = 0;
                foreach (var vma in mm.VmasLocked)
                {
                    for (var walk = new TableWalk(mm.PageTable, vma.Start.PageNumber, vma.End.PageNumber); walk.MoveNext();)
                    {
                        size += Volatile.Read(ref walk.Table.Used);
                    }
                }

                if (!mm.IsDead && size > bestSize)
                {
                    best = mm;
                    bestSize = size;
                }
            }
        }

        return best;
    }
}
