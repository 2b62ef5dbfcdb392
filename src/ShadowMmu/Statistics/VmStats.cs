using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.ShadowMmu.Statistics;

/// <summary>
/// VM-wide counters bumped by notifier callbacks (host threads) and TLB flushes. Callbacks run concurrently, so
/// these use <see cref="Interlocked"/>; they are far off the per-access path.
/// </summary>
public sealed class VmStats
{
    private readonly long[] _invalidationsByCause = new long[Enum.GetValues<InvalidationCause>().Length];
    private readonly long[] _invalidationsByEvent = new long[Enum.GetValues<NotifierEvent>().Length];
    private long _rangeStarts;
    private long _rangeEnds;
    private long _invalidatePages;
    private long _sptesZapped;
    private long _tlbFlushes;
    private long _agingTlbFlushes;
    private long _flushWaitTicks;
    private long _vcpusFlushed;
    private long _refusedStarts;
    private long _youngCalls;
    private long _youngTrue;
    private long _releases;

    internal void RangeStart(InvalidationCause cause, NotifierEvent evt)
    {
        Interlocked.Increment(ref _rangeStarts);
        Interlocked.Increment(ref _invalidationsByCause[(int)cause]);
        Interlocked.Increment(ref _invalidationsByEvent[(int)evt]);
    }

    internal void RangeEnd() => Interlocked.Increment(ref _rangeEnds);

    internal void InvalidatePage(InvalidationCause cause)
    {
        Interlocked.Increment(ref _invalidatePages);
        Interlocked.Increment(ref _invalidationsByCause[(int)cause]);
        Interlocked.Increment(ref _invalidationsByEvent[(int)NotifierEvent.Clear]);
    }

    internal void Zapped(long sptes) => Interlocked.Add(ref _sptesZapped, sptes);

    internal void Flushed(long waitTicks, int vcpus, bool aging)
    {
        Interlocked.Increment(ref aging ? ref _agingTlbFlushes : ref _tlbFlushes);
        Interlocked.Add(ref _flushWaitTicks, waitTicks);
        Interlocked.Add(ref _vcpusFlushed, vcpus);
    }

    internal void Refused() => Interlocked.Increment(ref _refusedStarts);

    internal void Aged(bool young)
    {
        Interlocked.Increment(ref _youngCalls);
        if (young)
        {
            Interlocked.Increment(ref _youngTrue);
        }
    }

    internal void Released()
    {
        Interlocked.Increment(ref _releases);
        Interlocked.Increment(ref _invalidationsByCause[(int)InvalidationCause.Exit]);
        Interlocked.Increment(ref _invalidationsByEvent[(int)NotifierEvent.Release]);
    }

    public VmCounters Snapshot() => new()
    {
        RangeStarts = Interlocked.Read(ref _rangeStarts),
        RangeEnds = Interlocked.Read(ref _rangeEnds),
        InvalidatePages = Interlocked.Read(ref _invalidatePages),
        SptesZapped = Interlocked.Read(ref _sptesZapped),
        TlbFlushes = Interlocked.Read(ref _tlbFlushes),
        AgingTlbFlushes = Interlocked.Read(ref _agingTlbFlushes),
        FlushWait = TimeSpan.FromTicks(Interlocked.Read(ref _flushWaitTicks) * TimeSpan.TicksPerSecond / System.Diagnostics.Stopwatch.Frequency),
        VcpusFlushed = Interlocked.Read(ref _vcpusFlushed),
        RefusedStarts = Interlocked.Read(ref _refusedStarts),
        YoungCalls = Interlocked.Read(ref _youngCalls),
        YoungTrue = Interlocked.Read(ref _youngTrue),
        Releases = Interlocked.Read(ref _releases),
        InvalidationsByCause = Enum.GetValues<InvalidationCause>()
            .ToDictionary(c => c, c => Interlocked.Read(ref _invalidationsByCause[(int)c])),
        InvalidationsByEvent = Enum.GetValues<NotifierEvent>()
            .ToDictionary(e => e, e => Interlocked.Read(ref _invalidationsByEvent[(int)e])),
    };
}
