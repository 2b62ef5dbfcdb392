namespace Hypervisor.ShadowMmu.Statistics;

/// <summary>
/// Counters of one vCPU. Written only by the vCPU's own thread (plain fields, no atomics); <see cref="Snapshot"/>
/// reads them with <see cref="Volatile"/> and may be a few increments behind.
/// </summary>
public sealed class VcpuStats
{
    internal long Accesses;
    internal long Writes;
    internal long TlbMisses;
    internal long Faults;
    internal long MmioExits;
    internal long HostFaultErrors;
    internal long SptesInstalled;
    internal long TlbFlushesHandled;
    internal long GupReferencesTaken;
    internal long GupReferencesDropped;
    internal readonly long[] Retries = new long[Enum.GetValues<RetryReason>().Length];

    public VcpuCounters Snapshot() => new()
    {
        Accesses = Volatile.Read(ref Accesses),
        Writes = Volatile.Read(ref Writes),
        TlbHits = Volatile.Read(ref Accesses) - Volatile.Read(ref TlbMisses),
        TlbMisses = Volatile.Read(ref TlbMisses),
        Faults = Volatile.Read(ref Faults),
        MmioExits = Volatile.Read(ref MmioExits),
        HostFaultErrors = Volatile.Read(ref HostFaultErrors),
        SptesInstalled = Volatile.Read(ref SptesInstalled),
        TlbFlushesHandled = Volatile.Read(ref TlbFlushesHandled),
        GupReferencesTaken = Volatile.Read(ref GupReferencesTaken),
        GupReferencesDropped = Volatile.Read(ref GupReferencesDropped),
        Retries = Enum.GetValues<RetryReason>().ToDictionary(r => r, r => Volatile.Read(ref Retries[(int)r])),
    };
}
