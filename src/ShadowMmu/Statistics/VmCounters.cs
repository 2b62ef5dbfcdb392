using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.ShadowMmu.Statistics;

/// <summary>A point-in-time copy of a VM's invalidation-side counters.</summary>
public sealed record VmCounters
{
    public long RangeStarts { get; init; }
    public long RangeEnds { get; init; }
    public long InvalidatePages { get; init; }
    public long SptesZapped { get; init; }
    /// <summary>Remote TLB flushes done by invalidations and releases.</summary>
    public long TlbFlushes { get; init; }

    /// <summary>Remote TLB flushes done by <c>clear_flush_young</c>.</summary>
    public long AgingTlbFlushes { get; init; }
    public TimeSpan FlushWait { get; init; }
    public long VcpusFlushed { get; init; }
    public long RefusedStarts { get; init; }
    public long YoungCalls { get; init; }
    public long YoungTrue { get; init; }
    public long Releases { get; init; }
    public IReadOnlyDictionary<InvalidationCause, long> InvalidationsByCause { get; init; } = new Dictionary<InvalidationCause, long>();
    public IReadOnlyDictionary<NotifierEvent, long> InvalidationsByEvent { get; init; } = new Dictionary<NotifierEvent, long>();

    /// <summary>Invalidations as the log counts them: range starts, legacy single-page calls and releases.</summary>
    public long Invalidations => RangeStarts + InvalidatePages + Releases;
}
