using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.Mirrors.Common;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.Mirrors.Gru;

/// <summary>
/// A GRU-like coprocessor TLB (drivers/misc/sgi-gru): no software shadow table, a hardware TLB of vpn to pfn filled
/// by drop-ins and purged by invalidations. A purge also marks every drop-in in flight for the purged range with the
/// kill bit, so a drop-in that looked up the old PTE before the purge is discarded instead of installed; that is what
/// lets the single-page 2008 <c>invalidate_page</c> (after the PTE change) be as safe as start/end. Between start and
/// end, <c>ms_range_active</c> refuses atomic drop-ins and makes the sleeping user path wait. The TLB keeps no page
/// reference (<c>get_user_pages</c> then an immediate <c>put_page</c>).
/// </summary>
public sealed partial class GruDeviceTlb : IMmuNotifier
{
    // The TLB and the in-flight drop-ins; stands for the hardware's own serialization of TLB writes against purges.
    private readonly ProtocolLock _tlbLock = new("gru tlb lock");
    private readonly Dictionary<ulong, ulong> _tlb = [];
    private readonly List<Dropin> _inFlight = [];

    // gms->ms_wait_queue: user drop-ins wait here for ms_range_active to reach zero.
    private readonly ProtocolLock _rangeWait = new("gru range wait queue");
    private readonly PhysicalMemoryView _memory;
    private int _rangeActive;
    private volatile bool _released;

    /// <summary>Creates the TLB and registers its notifier on <paramref name="mm"/> (<c>gru_register_mmu_notifier</c>).</summary>
    public GruDeviceTlb(AddressSpace mm, string name, MirrorMutations mutations = MirrorMutations.None)
    {
        ArgumentNullException.ThrowIfNull(mm);
        Mm = mm;
        Name = name;
        Mutations = mutations;
        Statistics = new ClientStatistics(name, ClientKind.GruTlb);
        _memory = new PhysicalMemoryView(mm.Host.Memory, $"gru:{name}");
        mm.RegisterNotifier(this);
    }

    public AddressSpace Mm { get; }

    public string Name { get; }

    public MirrorMutations Mutations { get; }

    public ClientStatistics Statistics { get; }

    /// <summary>Test hook: runs after a drop-in's PTE lookup and before it writes the TLB (the kill-bit window).</summary>
    public Action<Hva>? AfterLookup { get; set; }

    /// <summary>Drop-ins discarded because a purge killed them in flight.</summary>
    public long KilledDropins => Interlocked.Read(ref _killed);

    /// <summary>Atomic drop-ins refused because a range invalidation was active (the switch to user polling).</summary>
    public long UserFallbacks => Interlocked.Read(ref _userFallbacks);

    public int TlbEntries
    {
        get
        {
            using (_tlbLock.EnterScope())
            {
                return _tlb.Count;
            }
        }
    }

    private long _killed;
    private long _userFallbacks;

    public void Release(AddressSpace mm)
    {
        _released = true;
        Purge(new Hva(0), new Hva(ulong.MaxValue));
    }

    /// <summary><c>gru_invalidate_range_start</c>: range_active++, purge the range. Never sleeps, never refuses.</summary>
    public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range)
    {
        var t0 = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _rangeActive);
        var dropped = Purge(range.Start, range.End);
        Statistics.Invalidated(t0, dropped);
        return true;
    }

    /// <summary><c>gru_invalidate_range_end</c>: range_active-- (a full barrier) and wake the waiting user drop-ins.</summary>
    public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range)
    {
        if (Interlocked.Decrement(ref _rangeActive) == 0)
        {
            using (_rangeWait.EnterScope())
            {
                _rangeWait.PulseAll();
            }
        }
    }

    /// <summary>The 2008 <c>gru_invalidate_page</c>: after the PTE change, purge one page (killing drop-ins in flight).</summary>
    public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause)
    {
        var t0 = Stopwatch.GetTimestamp();
        var start = new Hva(hva.Value & ~Hva.PageMask);
        var dropped = Purge(start, start + Hva.PageSize);
        Statistics.Invalidated(t0, dropped);
    }

    /// <summary>The GRU has no accessed bits the host reads: aging never finds it young.</summary>
    public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool ClearYoung(AddressSpace mm, Hva start, Hva end) => false;

    public bool TestYoung(AddressSpace mm, Hva hva) => false;

    /// <summary>
    /// <c>gru_flush_tlb_range</c>: drop the TLB entries of [start, end) and set the kill bit of every drop-in in flight
    /// for it. Returns the entries dropped.
    /// </summary>
    private int Purge(Hva start, Hva end)
    {
        if ((Mutations & MirrorMutations.GruNoPurge) != 0)
        {
            return 0;
        }

        var first = start.PageNumber;
        var last = (end.Value - 1) >> Hva.PageShift;
        using (_tlbLock.EnterScope())
        {
            foreach (var d in _inFlight)
            {
                if (d.Vpn >= first && d.Vpn <= last)
                {
                    d.Killed = true;
                }
            }

            var victims = _tlb.Keys.Where(v => v >= first && v <= last).ToList();
            foreach (var v in victims)
            {
                _tlb.Remove(v);
            }

            return victims.Count;
        }
    }

    public override string ToString() => $"gru '{Name}' of {Mm.Name}";

    /// <summary>A drop-in in flight (the TFH the hardware is waiting on).</summary>
    private sealed class Dropin(ulong vpn)
    {
        public ulong Vpn { get; } = vpn;

        /// <summary>Set by a purge; guarded by the TLB lock.</summary>
        public bool Killed { get; set; }
    }
}
