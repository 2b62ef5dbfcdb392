using Hypervisor.Host.Analyze.Input;

namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>
/// The cumulative counters of one <c>Statistics</c> event (id 5) for one (RunId, Guest). Differences of two
/// snapshots give what happened between them.
/// </summary>
internal sealed record StatisticsSnapshot
{
    public bool Final { get; init; }

    public double ElapsedSeconds { get; init; }

    public long Accesses { get; init; }

    public long Faults { get; init; }

    public long FaultRetries { get; init; }

    public long Invalidations { get; init; }

    public long SptesZapped { get; init; }

    public long TlbFlushes { get; init; }

    public double TlbFlushWaitMicros { get; init; }

    public long TlbHits { get; init; }

    public long MmioExits { get; init; }

    public long YoungCalls { get; init; }

    public long YoungTrue { get; init; }

    public IReadOnlyDictionary<string, long> RetriesByReason { get; init; } = new Dictionary<string, long>();

    /// <summary>Nothing counted yet: the baseline of a run whose statistics all fall inside the window.</summary>
    public static StatisticsSnapshot Zero { get; } = new();

    public static StatisticsSnapshot From(in LogEvent e)
    {
        var reasons = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var member in JsonValues.Members(e.Element("RetriesByReason"u8)))
        {
            if (JsonValues.TryGetInt64(member.Value, out var count))
            {
                reasons[member.Name] = count;
            }
        }

        return new StatisticsSnapshot
        {
            Final = e.Boolean("Final"u8),
            ElapsedSeconds = e.Double("ElapsedSeconds"u8),
            Accesses = e.Int64("Accesses"u8),
            Faults = e.Int64("Faults"u8),
            FaultRetries = e.Int64("FaultRetries"u8),
            Invalidations = e.Int64("Invalidations"u8),
            SptesZapped = e.Int64("SptesZapped"u8),
            TlbFlushes = e.Int64("TlbFlushes"u8),
            TlbFlushWaitMicros = e.Double("TlbFlushWaitMicros"u8),
            TlbHits = e.Int64("TlbHits"u8),
            MmioExits = e.Int64("MmioExits"u8),
            YoungCalls = e.Int64("YoungCalls"u8),
            YoungTrue = e.Int64("YoungTrue"u8),
            RetriesByReason = reasons,
        };
    }

    /// <summary>What was counted after <paramref name="baseline"/> up to this snapshot.</summary>
    public StatisticsSnapshot Minus(StatisticsSnapshot baseline) => ReferenceEquals(baseline, Zero) ? this : this with
    {
        Accesses = Accesses - baseline.Accesses,
        Faults = Faults - baseline.Faults,
        FaultRetries = FaultRetries - baseline.FaultRetries,
        Invalidations = Invalidations - baseline.Invalidations,
        SptesZapped = SptesZapped - baseline.SptesZapped,
        TlbFlushes = TlbFlushes - baseline.TlbFlushes,
        TlbFlushWaitMicros = TlbFlushWaitMicros - baseline.TlbFlushWaitMicros,
        TlbHits = TlbHits - baseline.TlbHits,
        MmioExits = MmioExits - baseline.MmioExits,
        YoungCalls = YoungCalls - baseline.YoungCalls,
        YoungTrue = YoungTrue - baseline.YoungTrue,
        RetriesByReason = RetriesByReason.ToDictionary(
            p => p.Key, p => p.Value - baseline.RetriesByReason.GetValueOrDefault(p.Key), StringComparer.Ordinal),
    };
}
