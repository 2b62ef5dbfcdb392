using System.Diagnostics;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.ShadowMmu.Vms;

namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// The classic shadow MMU of one VM (arch/x86/kvm/mmu/mmu.c with paging_tmpl.h for a 4-level guest): shadow pages
/// keyed by (gfn, role) over the guest's own page tables, the reverse map from gfn to leaf SPTEs, write tracking
/// of the frames holding shadowed guest tables, unsync leaf pages synced on INVLPG and CR3 loads, and vCPU roots.
/// The fault-retry protocol and the notifier callbacks are the VM's, shared with TDP mode: this class supplies the
/// install step (<c>FNAME(fetch)</c>) and the rmap-based zap and aging the notifier handlers call.
/// </summary>
/// <remarks>
/// Every change happens under the VM's MMU lock taken for write (the shadow MMU never runs under the read lock in
/// the kernel either); aging reads the reverse map under the read lock. vCPUs walk the shadow pages without a lock,
/// as hardware does. Left out, as the reference allows: PAE and 32-bit quadrants, guest huge pages and direct
/// pages, SMM and nested roles, MMIO SPTEs, prefetch, write-flooding heuristics (a whole-frame store always zaps),
/// recycling of the oldest pages (the guest's table pool bounds their number), and guest accessed/dirty bits.
/// </remarks>
public sealed partial class ShadowPaging
{
    private readonly VirtualMachine _vm;
    private readonly ShadowMutations _mutations;
    // kvm_mmu_prepare_zap_page's invalid list, and whether a prepared zap cleared an entry some vCPU may cache.
    // Both guarded by the MMU write lock.
    private readonly List<ShadowPage> _invalid = [];
    private bool _pendingFlush;

    internal ShadowPaging(VirtualMachine vm, ulong guestPages)
    {
        _vm = vm;
        _mutations = vm.Options.Mutations;
        Tables = new GuestTableMemory(guestPages);
        Rmap = new Rmap(guestPages);
        Track = new PageTrack(guestPages);
    }

    /// <summary>The guest frames holding guest page tables.</summary>
    public GuestTableMemory Tables { get; }

    /// <summary>The valid shadow pages.</summary>
    public ShadowPageHash Pages { get; } = new();

    /// <summary>gfn to every leaf SPTE mapping it.</summary>
    public Rmap Rmap { get; }

    /// <summary>Write tracking and write protection of table frames.</summary>
    public PageTrack Track { get; }

    public ShadowStats Stats { get; } = new();

    private ViolationLog Violations => _vm.Violations;

    /// <summary>Leaf SPTEs present (each has exactly one reverse-map entry).</summary>
    public long CountPresentLeafSptes()
    {
        _vm.MmuLock.EnterRead();
        try
        {
            return Rmap.Count;
        }
        finally
        {
            _vm.MmuLock.ExitRead();
        }
    }

    /// <summary>Simulator bytes held by the shadow MMU (pages, hash, reverse map, write tracking), table contents excluded.</summary>
    public long FootprintBytes()
    {
        _vm.MmuLock.EnterRead();
        try
        {
            return Pages.FootprintBytes + Rmap.FootprintBytes + Track.FootprintBytes;
        }
        finally
        {
            _vm.MmuLock.ExitRead();
        }
    }

    [Conditional("DEBUG")]
    private void AssertWriteLocked(string why) => Debug.Assert(_vm.MmuLock.IsHeldForWrite, why);

    private void Report(ViolationKind kind, int vcpu, ulong page, string detail) =>
        Violations.Report(kind, new AccessSite(_vm.Name, vcpu, page), -1, detail);
}
