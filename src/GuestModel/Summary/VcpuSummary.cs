namespace Hypervisor.GuestModel.Summary;

/// <summary>
/// Counters of one vCPU at the end of a run: what a KVM selftest reads per vCPU thread (demand_paging_test's pages
/// per vCPU and per second, access_tracking_perf_test's per-vCPU pass times).
/// </summary>
public sealed record VcpuSummary
{
    /// <summary>The vCPU's index in its guest.</summary>
    public int Vcpu { get; init; }
    public long Accesses { get; init; }
    public long Writes { get; init; }
    public long TlbHits { get; init; }
    public long Faults { get; init; }
    public long SptesInstalled { get; init; }
    public long FaultRetries { get; init; }
    public long MmioExits { get; init; }
    public long HostFaultExits { get; init; }
    public IReadOnlyDictionary<string, long> RetriesByReason { get; init; } = new Dictionary<string, long>();

    /// <summary>Run time (from the start gate) when the vCPU entered its access loop; -1 if it never ran.</summary>
    public double FirstAccessSeconds { get; init; } = -1;

    /// <summary>Run time when the vCPU left its access loop (its quota made, the run stopped, its VM died); -1 if it never ran.</summary>
    public double LastAccessSeconds { get; init; } = -1;

    /// <summary>Accesses per second of the vCPU's own execution time (last minus first access); 0 when it never ran.</summary>
    public double AccessesPerSecond { get; init; }
}
