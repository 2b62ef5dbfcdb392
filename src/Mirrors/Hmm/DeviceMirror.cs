using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.Mirrors.Common;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.Mirrors.Hmm;

/// <summary>
/// A device that mirrors a process's address space through an interval notifier, as lib/test_hmm.c's
/// <c>dmirror</c>: one interval over the whole space, a device page table (vpn to pfn plus a write bit) guarded by
/// a mutex, faults through an <c>hmm_range_fault</c>-like snapshot checked with <c>mmu_interval_read_retry</c>
/// under that mutex, and an invalidate that takes the mutex (trylock when not blockable, refusing when busy), sets
/// the sequence, and drops the device entries of the range.
/// </summary>
/// <remarks>
/// Device accesses hold the mutex, so the device never uses an entry an invalidation has passed. The device holds
/// no page references: an entry is valid only because any change of the primary PTE invalidates it first.
/// </remarks>
public sealed partial class DeviceMirror : IIntervalNotifierOps, IDisposable
{
    private const ulong WriteBit = 1;

    // dmirror->mutex: guards _pageTable; held by invalidate around set_seq and the drop, and by the fault side around
    // read_retry and the install. Not re-entrant, like a kernel mutex.
    private readonly SemaphoreSlim _mutex = new(1, 1);
    private readonly Dictionary<ulong, ulong> _pageTable = [];
    private readonly IntervalNotifier _interval;
    private readonly PhysicalMemoryView _memory;

    /// <summary>Opens a mirror of <paramref name="mm"/> (<c>dmirror_fops_open</c>: one interval over the whole space).</summary>
    public DeviceMirror(AddressSpace mm, string name, MirrorMutations mutations = MirrorMutations.None)
    {
        ArgumentNullException.ThrowIfNull(mm);
        Mm = mm;
        Name = name;
        Mutations = mutations;
        Statistics = new ClientStatistics(name, ClientKind.HmmMirror);
        _memory = new PhysicalMemoryView(mm.Host.Memory, $"hmm:{name}");
        _interval = mm.Notifiers.InsertInterval(new Hva(0), ulong.MaxValue & ~Hva.PageMask, this);
    }

    public AddressSpace Mm { get; }

    public string Name { get; }

    public MirrorMutations Mutations { get; }

    public ClientStatistics Statistics { get; }

    /// <summary>Test hook: runs after the snapshot and before the mutex is taken (the window a collision uses).</summary>
    public Action<Hva>? AfterSnapshot { get; set; }

    /// <summary>
    /// One fault in this many sleeps a millisecond between its snapshot and taking the mutex, as a fault that
    /// sleeps in <c>hmm_range_fault</c> or is preempted there would; 0 never. Widens the window races use.
    /// </summary>
    public int PreemptInFaultWindowEvery { get; init; }

    /// <summary>
    /// How long each device command keeps the mutex after its copy (a DMA transfer: <c>dmirror_do_read</c> and
    /// <c>dmirror_do_write</c> run under <c>dmirror-&gt;mutex</c>); zero by default. While it runs, a non-blockable
    /// invalidation (the OOM reaper's) finds the device busy and refuses.
    /// </summary>
    public TimeSpan CommandTime { get; init; }

    /// <summary>Device page-table entries present now.</summary>
    public int MappedPages
    {
        get
        {
            SchedulingPoint.Wait(_mutex, "hmm device mutex");
            try
            {
                return _pageTable.Count;
            }
            finally
            {
                _mutex.Release();
            }
        }
    }

    /// <summary>The device's user lock, for tests that make the device busy (so a non-blockable invalidate refuses).</summary>
    public SemaphoreSlim DeviceLock => _mutex;

    /// <summary>
    /// <c>dmirror_interval_invalidate</c>. Release (exit) is handled like any other event: drop everything.
    /// </summary>
    public bool Invalidate(IntervalNotifier subscription, in NotifierRange range, ulong currentSeq)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var t0 = Stopwatch.GetTimestamp();
        if (range.Blockable)
        {
            SchedulingPoint.Wait(_mutex, "hmm device mutex");
        }
        else if (!_mutex.Wait(0))
        {
            if ((Mutations & MirrorMutations.HmmSkipWhenBusy) != 0)
            {
                return true; // broken: claims the range is invalidated while the device keeps its entries
            }

            Statistics.Refused();
            return false; // the device is busy and we may not sleep: -EAGAIN
        }

        int dropped;
        try
        {
            if ((Mutations & MirrorMutations.HmmNoSetSeq) == 0)
            {
                subscription.SetSeq(currentSeq);
            }

            dropped = DropRange(range.Start, range.End);
        }
        finally
        {
            _mutex.Release();
        }

        Statistics.Invalidated(t0, dropped);
        return true;
    }

    /// <summary>
    /// The checker's rule for this kind: under the device mutex, every device entry maps the frame the primary maps
    /// at that address, and is writable only if the primary PTE is. Reports each mismatch; returns how many.
    /// </summary>
    public int CheckCoherence() => CoherenceCheck.Run(Mm, $"hmm:{Name}", () =>
    {
        var found = new List<Mismatch>();
        SchedulingPoint.Wait(_mutex, "hmm device mutex");
        try
        {
            foreach (var (vpn, entry) in _pageTable)
            {
                var pte = Mm.PteOf(Hva.FromPage(vpn));
                var pfn = (int)(entry >> 1);
                if (!HostMemory.PageTables.Pte.IsPresent(pte) || HostMemory.PageTables.Pte.PfnOf(pte).Value != pfn)
                {
                    found.Add(new Mismatch(vpn, entry, pfn, MirrorViolations.StaleMapping, $"device entry maps pfn {pfn}, the primary maps 0x{pte:x}"));
                }
                else if ((entry & WriteBit) != 0 && !HostMemory.PageTables.Pte.IsWritable(pte))
                {
                    found.Add(new Mismatch(vpn, entry, pfn, MirrorViolations.WriteBeyondHost, "device entry is writable, the primary PTE is not"));
                }
            }
        }
        finally
        {
            _mutex.Release();
        }

        return found;
    });

    /// <summary><c>dmirror_fops_release</c>: remove the interval (waits for callbacks in flight), drop everything.</summary>
    public void Dispose()
    {
        _interval.Remove();
        SchedulingPoint.Wait(_mutex, "hmm device mutex");
        _pageTable.Clear();
        _mutex.Release();
    }

    /// <summary>Drops the device entries in [start, end). Caller holds the mutex.</summary>
    private int DropRange(Hva start, Hva end)
    {
        Debug.Assert(_mutex.CurrentCount == 0, "DropRange: caller holds the device mutex");
        var first = start.PageNumber;
        var last = (end.Value - 1) >> Hva.PageShift;
        if ((ulong)_pageTable.Count < last - first + 1)
        {
            var victims = _pageTable.Keys.Where(v => v >= first && v <= last).ToList();
            foreach (var v in victims)
            {
                _pageTable.Remove(v);
            }

            return victims.Count;
        }

        var dropped = 0;
        for (var v = first; v <= last; v++)
        {
            dropped += _pageTable.Remove(v) ? 1 : 0;
        }

        return dropped;
    }

    public override string ToString() => $"hmm mirror '{Name}' of {Mm.Name}";
}
