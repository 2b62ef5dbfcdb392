namespace Hypervisor.ShadowMmu.Statistics;

/// <summary>A point-in-time copy of vCPU counters; <see cref="Add"/> sums them over vCPUs.</summary>
public sealed record VcpuCounters
{
    public long Accesses { get; init; }
    public long Writes { get; init; }
    public long TlbHits { get; init; }
    public long TlbMisses { get; init; }
    public long Faults { get; init; }
    public long MmioExits { get; init; }
    public long HostFaultErrors { get; init; }
    public long SptesInstalled { get; init; }
    public long TlbFlushesHandled { get; init; }
    public long GupReferencesTaken { get; init; }
    public long GupReferencesDropped { get; init; }
    public IReadOnlyDictionary<RetryReason, long> Retries { get; init; } = new Dictionary<RetryReason, long>();

    public long TotalRetries => Retries.Values.Sum();

    public static VcpuCounters Add(VcpuCounters a, VcpuCounters b) => new()
    {
        Accesses = a.Accesses + b.Accesses,
        Writes = a.Writes + b.Writes,
        TlbHits = a.TlbHits + b.TlbHits,
        TlbMisses = a.TlbMisses + b.TlbMisses,
        Faults = a.Faults + b.Faults,
        MmioExits = a.MmioExits + b.MmioExits,
        HostFaultErrors = a.HostFaultErrors + b.HostFaultErrors,
        SptesInstalled = a.SptesInstalled + b.SptesInstalled,
        TlbFlushesHandled = a.TlbFlushesHandled + b.TlbFlushesHandled,
        GupReferencesTaken = a.GupReferencesTaken + b.GupReferencesTaken,
        GupReferencesDropped = a.GupReferencesDropped + b.GupReferencesDropped,
        Retries = Enum.GetValues<RetryReason>().ToDictionary(
            r => r, r => a.Retries.GetValueOrDefault(r) + b.Retries.GetValueOrDefault(r)),
    };
}
