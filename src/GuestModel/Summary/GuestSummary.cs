namespace Hypervisor.GuestModel.Summary;

/// <summary>Counters of one guest: its vCPUs summed, and its shadow MMU's invalidation side.</summary>
public sealed record GuestSummary
{
    public required string Name { get; init; }
    public int Vcpus { get; init; }
    public long Accesses { get; init; }
    public long Writes { get; init; }
    public long TlbHits { get; init; }
    public long TlbMisses { get; init; }
    public long Faults { get; init; }
    public long FaultRetries { get; init; }
    public long MmioExits { get; init; }
    public long HostFaultExits { get; init; }
    public long SptesInstalled { get; init; }
    public long Invalidations { get; init; }
    public long InvalidatePages { get; init; }
    public long SptesZapped { get; init; }
    public long TlbFlushes { get; init; }
    public long AgingTlbFlushes { get; init; }
    public double TlbFlushWaitMicros { get; init; }
    public long RefusedStarts { get; init; }
    public long AfterOperationChecks { get; init; }
    public long YoungCalls { get; init; }
    public long YoungTrue { get; init; }

    /// <summary>The guest's MMU mode: <c>tdp</c> or <c>shadow</c>.</summary>
    public string Mmu { get; init; } = "tdp";

    /// <summary>Shadow mode: page faults injected into the guest (its own tables forbade the access).</summary>
    public long GuestPageFaults { get; init; }

    /// <summary>Shadow mode: guest stores to write-tracked page-table frames, emulated.</summary>
    public long EmulatedPteWrites { get; init; }

    /// <summary>Shadow mode: INVLPG exits.</summary>
    public long Invlpgs { get; init; }

    /// <summary>Shadow mode: shadow pages created.</summary>
    public long ShadowPagesCreated { get; init; }
    /// <summary>One entry per vCPU; filled in the end-of-run summary only (periodic statistics leave it empty).</summary>
    public IReadOnlyList<VcpuSummary> PerVcpu { get; init; } = [];

    /// <summary>
    /// A hash (FNV-1a, 64 bits, hex) of the final content of every guest page that memslots back, taken after the
    /// vCPUs and activities stopped and before teardown; equal across runs that leave equal memory (a deterministic
    /// run with the same seed). Null in periodic statistics, or when the guest's VMM had already exited.
    /// </summary>
    public string? MemoryDigest { get; init; }

    /// <summary>Pages of <see cref="MemoryDigest"/> that hold a non-zero word (pages never written read zero).</summary>
    public long DigestNonZeroPages { get; init; }

    public IReadOnlyDictionary<string, long> RetriesByReason { get; init; } = new Dictionary<string, long>();
    public IReadOnlyDictionary<string, long> InvalidationsByEventKind { get; init; } = new Dictionary<string, long>();
    public IReadOnlyDictionary<string, long> InvalidationsByNotifierEvent { get; init; } = new Dictionary<string, long>();
}
