using System.Collections.ObjectModel;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.GuestModel.Scenarios;

/// <summary>One virtual machine of a scenario (an entry of <c>guests</c>).</summary>
public sealed record GuestSpec
{
    /// <summary>Largest accepted <see cref="Vcpus"/>.</summary>
    public const int MaxVcpus = 64;

    /// <summary>Unique name, <c>[a-z0-9-]+</c>; used in logs and by activities.</summary>
    public required string Name { get; init; }

    /// <summary>Guest-physical memory in bytes, a positive multiple of the page size.</summary>
    public required long Memory { get; init; }

    /// <summary>Number of vCPU threads, 1 to <see cref="MaxVcpus"/>.</summary>
    public required int Vcpus { get; init; }

    /// <summary>What backs guest memory in the VMM process unless a memslot overrides it.</summary>
    public VmaKind Backing { get; init; } = VmaKind.AnonymousPrivate;

    /// <summary>
    /// Whether the guest's memory files do dirty accounting (a file system with <c>page_mkwrite</c>): shared file
    /// pages are mapped read-only until written. False models a file system without it, where a read fault maps the
    /// page writable and clean and a secondary MMU's dirty bits are the only record of guest writes.
    /// </summary>
    public bool WriteNotify { get; init; } = true;

    /// <summary>How the guest's file-backed slots are mapped: page cache, execute in place, or nonlinear.</summary>
    public FileMapping FileMapping { get; init; } = FileMapping.PageCache;

    /// <summary>How the guest's memory is translated: TDP (the default) or shadow paging over guest page tables.</summary>
    public MmuMode Mmu { get; init; } = MmuMode.Tdp;

    /// <summary>Default of <see cref="PageTableChurn"/>.</summary>
    public const double DefaultPageTableChurn = 0.002;

    /// <summary>
    /// Shadow mode: the share of accesses before which the guest kernel changes a page table (map, unmap, protect,
    /// alias, region unmap, process switch, fork-like copy), in [0, 1]. Ignored in TDP mode.
    /// </summary>
    public double PageTableChurn { get; init; } = DefaultPageTableChurn;

    /// <summary>
    /// Transparent huge pages for the guest's private anonymous memory in its VMM process: <c>never</c> (the default),
    /// <c>always</c>, or <c>madvise</c> (the VMM advises <c>MADV_HUGEPAGE</c> over every such slot).
    /// </summary>
    public ThpMode Thp { get; init; } = ThpMode.Never;

    /// <summary>Default of <see cref="TlbEntries"/>.</summary>
    public const int DefaultTlbEntries = 64;

    /// <summary>Largest <see cref="TlbEntries"/>.</summary>
    public const int MaxTlbEntries = 1 << 16;

    /// <summary>Entries of each vCPU's TLB, a power of two (<see cref="Hypervisor.ShadowMmu.Vms.VmOptions.TlbEntries"/>).</summary>
    public int TlbEntries { get; init; } = DefaultTlbEntries;

    /// <summary>The memory slots, sorted by base; the loader supplies one read-write slot over all memory by default.</summary>
    public required IReadOnlyList<MemslotSpec> Memslots { get; init; }

    /// <summary>The workload of every vCPU without an entry in <see cref="VcpuWorkloads"/>.</summary>
    public required WorkloadSpec Workload { get; init; }

    /// <summary>Per-vCPU workloads that replace <see cref="Workload"/> entirely (keyed by vCPU index).</summary>
    public IReadOnlyDictionary<int, WorkloadSpec> VcpuWorkloads { get; init; } = ReadOnlyDictionary<int, WorkloadSpec>.Empty;

    /// <summary>
    /// The guest whose VMM process this guest's VM lives in (declared earlier, with a process of its own): the memslots
    /// are mapped into that address space beside the other guest's and the VM registers its own notifier there. Null:
    /// a VMM process of its own.
    /// </summary>
    public string? AddressSpaceOf { get; init; }

    /// <summary>Guest memory in pages.</summary>
    public long Pages => Memory / ScenarioUnits.PageSize;

    /// <summary>The workload vCPU <paramref name="vcpu"/> runs: its override, else the guest's workload.</summary>
    public WorkloadSpec WorkloadFor(int vcpu) =>
        VcpuWorkloads.TryGetValue(vcpu, out var workload) ? workload : Workload;
}
