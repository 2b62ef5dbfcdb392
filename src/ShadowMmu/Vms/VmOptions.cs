namespace Hypervisor.ShadowMmu.Vms;

/// <summary>How a <see cref="VirtualMachine"/> is built.</summary>
public sealed record VmOptions
{
    /// <summary>Number of vCPUs created with the VM.</summary>
    public int Vcpus { get; init; } = 1;

    /// <summary>
    /// How guest memory is translated: <see cref="MmuMode.Tdp"/> (one gfn-to-pfn table, the vCPU TLB keyed by gfn) or
    /// <see cref="MmuMode.Shadow"/> (shadow pages over the guest's own page tables, the TLB keyed by PCID and guest
    /// virtual page).
    /// </summary>
    public MmuMode Mmu { get; init; } = MmuMode.Tdp;

    /// <summary>Entries in each vCPU's software TLB (a power of two).</summary>
    public int TlbEntries { get; init; } = 64;

    /// <summary>
    /// Each vCPU keeps a gfn-to-pfn cache of its own page at the start of guest memory and reads it on every refresh
    /// (<see cref="PfnCaches.GfnToPfnCache"/>): the lockless reader of the invalidation counters.
    /// </summary>
    public bool PfnCaches { get; init; } = true;

    /// <summary>
    /// The fault path's lockless pre-checks (<c>mmu_invalidate_retry_gfn_unsafe</c> before and after resolving the
    /// host page). Off, every retry is decided under the MMU lock: tests of the locked check turn it off.
    /// </summary>
    public bool LocklessPreCheck { get; init; } = true;

    /// <summary>
    /// How <c>mmu_invalidate_seq</c> is raised at the end of an invalidation: under the MMU lock (the kernel's, the
    /// default), atomically before it, or with a plain load and store before it (loses updates under concurrency).
    /// </summary>
    public Invalidation.SeqCounterMode SeqCounter { get; init; }

    /// <summary>
    /// With <see cref="Invalidation.SeqCounterMode.PlainOutsideLock"/>: every this many increments, the invalidating
    /// thread yields its core between loading the sequence and storing it plus one, as host preemption inside that
    /// read-modify-write would. 0 disables it.
    /// </summary>
    public int PreemptInSeqUpdateEvery { get; init; }

    /// <summary>
    /// Test hook run between the load and the store of a <see cref="Invalidation.SeqCounterMode.PlainOutsideLock"/>
    /// increment, on the invalidating thread: the window in which another increment is lost.
    /// </summary>
    public Action? BetweenSeqLoadAndStore { get; init; }

    /// <summary>
    /// The fault path tries the host's lockless <c>gup_fast</c> first (<c>hva_to_pfn_fast</c>) and falls back to the
    /// locked GUP, and walks the host page tables for the mapping level under the MMU lock
    /// (<c>host_pfn_mapping_level</c>). Off, every fault takes the locked GUP.
    /// </summary>
    public bool GupFast { get; init; }

    /// <summary>
    /// <c>kvm_mmu_hugepage_adjust</c>: in TDP mode, a fault maps a 2 MiB SPTE where <c>host_pfn_mapping_level</c> finds a
    /// PMD leaf and the memslot allows it (the 2 MiB lies in the slot, gfn and hva equally aligned). Under the legacy
    /// profile too: KVM mapped transparent huge pages from v2.6.38 (<c>transparent_hugepage_adjust</c>), six years
    /// before <c>invalidate_page</c> went; every zap, the single-page one included, removes a huge SPTE it touches.
    /// </summary>
    public bool HugePages { get; init; } = true;

    /// <summary>Broken variants of the protocol, for oracle tests.</summary>
    public ShadowMutations Mutations { get; init; }

    /// <summary>
    /// Every this many faults, the vCPU thread yields its core between resolving the host page and taking the MMU
    /// lock: host preemption inside the fault window, which is when a whole invalidation can slip in between. Real
    /// vCPU threads are preempted there under host load; the simulator makes it happen at a known rate instead of
    /// depending on how busy the machine is. 0 disables it.
    /// </summary>
    public int PreemptInFaultWindowEvery { get; init; }

    /// <summary>
    /// Test hook run on the faulting vCPU's thread after the host page was resolved and before the MMU lock is
    /// taken: the window the sequence counter and the in-progress check exist for.
    /// </summary>
    public Action<Gfn>? AfterGetUserPages { get; init; }
}
