using System.Runtime.CompilerServices;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Physical;
using Hypervisor.ShadowMmu.Statistics;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Faults;
using Hypervisor.ShadowMmu.PfnCaches;
using Hypervisor.ShadowMmu.Vms;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.ShadowMmu.Vcpus;

/// <summary>
/// A virtual CPU: a guest-mode flag published to TLB flushers, request bits, a direct-mapped software TLB caching
/// gfn to (pfn, writable, dirty), and counters owned by its thread. Exactly one thread drives a vCPU.
/// </summary>
/// <remarks>
/// Mode and requests form KVM's Dekker pair (<c>vcpu_enter_guest</c> against <c>kvm_make_all_cpus_request</c>):
/// the vCPU publishes guest mode, then (full fence) reads its requests; a flusher posts a request (full fence),
/// then reads the mode and waits for a vCPU it saw in guest mode to leave it once. Either the vCPU sees the
/// request before touching memory, or the flusher sees it in guest mode and waits. Pending requests are checked
/// at every access, which is where the IPI would land.
/// </remarks>
public sealed partial class Vcpu
{
    private const ulong TlbWritable = 1UL << 0;
    private const ulong TlbDirty = 1UL << 1;
    private const ulong TlbWriteOk = TlbWritable | TlbDirty;

    private readonly ShadowPageTable _table;
    private readonly PhysicalMemory _memory;
    private readonly ulong[] _tlbTags;
    private readonly ulong[] _tlbEntries;
    private readonly ulong _tlbMask;

    // Odd while in guest mode. Every transition bumps it, so a flusher that saw value v (odd) knows the vCPU has
    // left guest mode once the value differs from v. Written only by the vCPU thread.
    private long _modeSeq;
    private int _requests;
    private volatile bool _stopRequested;

    internal Vcpu(VirtualMachine vm, int index, int tlbEntries)
    {
        if (tlbEntries <= 0 || (tlbEntries & (tlbEntries - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(tlbEntries), "TLB size must be a power of two");
        }

        Vm = vm;
        Index = index;
        _table = vm.Table;
        _memory = vm.AddressSpace.Host.Memory;
        _tlbTags = new ulong[tlbEntries];
        _tlbEntries = new ulong[tlbEntries];
        _tlbMask = (ulong)tlbEntries - 1;
        if (vm.Options.PfnCaches && vm.Memslots.Count > 0 && vm.Memslots[0].Pages > (ulong)index)
        {
            // The vCPU's own page of a per-vCPU area at the start of guest memory, as kvmclock's pvclock pages are.
            var gfn = vm.Memslots[0].BaseGfn + (ulong)index;
            PfnCache = new GfnToPfnCache(vm, index, gfn, vm.Memslots[0].HvaOf(gfn));
            _requests = (int)VcpuRequests.PfnCacheRefresh;
        }
    }

    public VirtualMachine Vm { get; }

    public int Index { get; }

    public VcpuStats Stats { get; } = new();

    /// <summary>The vCPU's gfn-to-pfn cache (<c>vcpu-&gt;arch.pv_time</c>), or null when the VM has no memory.</summary>
    public GfnToPfnCache? PfnCache { get; }

    /// <summary>True once <see cref="RequestStop"/> was called.</summary>
    internal bool StopRequested => _stopRequested;

    /// <summary>True while the vCPU runs guest code (<c>IN_GUEST_MODE</c>).</summary>
    public bool InGuestMode => (Volatile.Read(ref _modeSeq) & 1) != 0;

    internal long ModeSequence => Volatile.Read(ref _modeSeq);

    /// <summary>Asks a retrying access to give up with <see cref="AccessStatus.Stopped"/>.</summary>
    public void RequestStop() => _stopRequested = true;

    /// <summary>
    /// Enters guest mode: publish the mode, full fence, then service any pending request before running guest
    /// code (<c>vcpu_enter_guest</c>). Call before a run of <see cref="Access"/> calls.
    /// </summary>
    public void EnterGuest()
    {
        while (true)
        {
            Interlocked.Exchange(ref _modeSeq, _modeSeq | 1);
            SchedulingPoint.Atomic("vcpu->mode = IN_GUEST_MODE");
            if (Volatile.Read(ref _requests) == 0)
            {
                if (_tlbCheckPending)
                {
                    CheckOwnTlb();
                }

                return;
            }

            ExitGuest();
            ServiceRequests();
        }
    }

    /// <summary>Leaves guest mode. Call before blocking, sleeping or stopping, so that flushers need not wait.</summary>
    public void ExitGuest()
    {
        if ((_modeSeq & 1) != 0)
        {
            Volatile.Write(ref _modeSeq, _modeSeq + 1);
        }
    }

    /// <summary>True while <paramref name="request"/> is posted and not yet consumed by the vCPU.</summary>
    internal bool HasRequest(VcpuRequests request) => (Volatile.Read(ref _requests) & (int)request) != 0;

    /// <summary>Posts a request and returns; the vCPU services it before its next guest access.</summary>
    internal void MakeRequest(VcpuRequests request)
    {
        Interlocked.Or(ref _requests, (int)request);
        SchedulingPoint.Atomic("kvm_make_request");
    }

    /// <summary>
    /// One guest load or store of the content word of <paramref name="gfn"/>, in guest mode: TLB, else a walk of
    /// the shadow table (setting accessed/dirty as hardware does), else the fault path, retried until it installs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public AccessResult Access(Gfn gfn, bool write, ulong value)
    {
        if (Volatile.Read(ref _requests) != 0)
        {
            TakeRequestsInterrupt();
        }

        Stats.Accesses++;
        var g = gfn.Value;
        var idx = g & _tlbMask;
        var entry = _tlbEntries[idx];
        if (_tlbTags[idx] == g + 1 && (!write || (entry & TlbWriteOk) == TlbWriteOk))
        {
            return Touch(g, Spte.PfnOf(entry), write, value); // hits are accesses minus misses
        }

        Stats.TlbMisses++;
        return WalkOrFault(g, write, value);
    }

    private AccessResult WalkOrFault(ulong g, bool write, ulong value)
    {
        while (true)
        {
            var leaf = _table.FindLeaf(g);
            if (leaf is not null)
            {
                // The walk stops at a 2 MiB SPTE if there is one (a leaf at the PMD level), else reads the 4 KiB entry.
                var huge = Spte.IsPresent(Volatile.Read(ref leaf.Huge));
                ref var slot = ref huge ? ref leaf.Huge : ref leaf.Entries[g & (ShadowPageTable.LeafEntries - 1)];
                var spte = Volatile.Read(ref slot);
                if (Spte.IsPresent(spte) && (!write || Spte.IsWritable(spte)))
                {
                    // Hardware sets A (and D on a write) with a locked update of the entry it walked; if the entry
                    // changed under it, it walks again.
                    var bits = Spte.Accessed | (write ? Spte.Dirty : 0);
                    if ((spte & bits) != bits && Interlocked.CompareExchange(ref slot, spte | bits, spte) != spte)
                    {
                        continue;
                    }

                    // The TLB caches the 4 KiB piece of a huge translation (as a CPU may splinter it).
                    var mapped = huge ? Spte.SubpageOf(spte, (int)(g & (ShadowPageTable.LeafEntries - 1))) : spte;
                    var pfn = Spte.PfnOf(mapped);
                    var idx = g & _tlbMask;
                    _tlbTags[idx] = g + 1;
                    _tlbEntries[idx] = (mapped & Spte.FrameMask) | (Spte.IsWritable(spte) ? TlbWritable : 0)
                        | (((spte | bits) & Spte.Dirty) != 0 ? TlbDirty : 0);
                    return Touch(g, pfn, write, value);
                }
            }

            ExitGuest();
            var outcome = Vm.HandleFault(this, g, write);
            EnterGuest();
            if (AfterFault(outcome) is { } result)
            {
                return result;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private AccessResult Touch(ulong g, Pfn pfn, bool write, ulong value)
    {
        var site = new AccessSite(Vm.Name, Index, g);
        if (write)
        {
            Stats.Writes++;
            if (_memory.GuestWrite(pfn, value, site))
            {
                Vm.CheckWatchedWrite(Index, g, pfn);
            }

            return new AccessResult(AccessStatus.Ok, value, pfn);
        }

        return new AccessResult(AccessStatus.Ok, _memory.Read(pfn, site), pfn);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void TakeRequestsInterrupt()
    {
        // The IPI: leave guest mode (this is the acknowledgement the flusher waits for), service, re-enter.
        ExitGuest();
        ServiceRequests();
        EnterGuest();
    }

    private void ServiceRequests()
    {
        var requests = (VcpuRequests)Interlocked.Exchange(ref _requests, 0);
        if ((requests & VcpuRequests.TlbFlush) != 0)
        {
            Array.Clear(_tlbTags);
            Stats.TlbFlushesHandled++;
        }

        if ((requests & VcpuRequests.PfnCacheRefresh) != 0)
        {
            Vm.RefreshPfnCache(this);
        }

        if ((requests & VcpuRequests.CheckTlb) != 0)
        {
            _tlbCheckPending = true;
        }
    }

    /// <summary>
    /// What an access does after a fault returned, in both MMU modes: null to retry the access (installed, or a retry
    /// while the vCPU is not being stopped), otherwise the access's result.
    /// </summary>
    private AccessResult? AfterFault(FaultOutcome outcome) => outcome switch
    {
        FaultOutcome.Installed => null,
        FaultOutcome.Retry => _stopRequested ? new AccessResult(AccessStatus.Stopped, 0, default) : null,
        FaultOutcome.GuestPageFault => new AccessResult(AccessStatus.GuestPageFault, 0, default),
        FaultOutcome.Mmio => new AccessResult(AccessStatus.Mmio, 0, default),
        FaultOutcome.VmDead => new AccessResult(AccessStatus.VmDead, 0, default),
        _ => new AccessResult(AccessStatus.HostFault, 0, default),
    };
}
