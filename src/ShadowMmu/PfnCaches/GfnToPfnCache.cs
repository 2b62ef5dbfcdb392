using System.Diagnostics;
using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Physical;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.ShadowMmu.Vms;
using Hypervisor.HostMemory.Scheduling;

namespace Hypervisor.ShadowMmu.PfnCaches;

/// <summary>
/// A gfn-to-pfn cache (<c>struct gfn_to_pfn_cache</c>, <c>virt/kvm/pfncache.c</c>): KVM's own translation of one guest
/// page, which the host side of a vCPU uses to reach that page without walking the shadow table (kvmclock's
/// <c>pv_time</c>, Xen's <c>vcpu_info</c>, nested VMX's posted-interrupt descriptor). Its refresh decides without the
/// MMU lock whether the pfn it resolved is still good: <c>mmu_notifier_retry_cache</c> reads
/// <c>mn_active_invalidate_count</c>, then <c>mmu_invalidate_seq</c>, which is only sound because the end of an
/// invalidation increases the sequence before it decreases the count.
/// </summary>
/// <remarks>
/// The cache holds no page reference (as in KVM since v6.10, like an SPTE): a start covering its page marks it invalid
/// under the cache's lock before the host may change the PTE, and the owning vCPU refreshes it on its next entry
/// (<c>KVM_REQ_GPC_INVALIDATE</c>, v5.17 to v6.8). The consumer here only reads the page: writing would change guest
/// memory behind the guest's own checker.
/// </remarks>
public sealed class GfnToPfnCache
{
    private readonly VirtualMachine _vm;
    private readonly int _vcpu;

    // gpc->lock (an rwlock_t): readers use the cached pfn; a refresh or an invalidation changes it under write.
    private readonly MmuLock _lock = new();

    // Guarded by _lock.
    private bool _valid;
    private Pfn _pfn;

    internal GfnToPfnCache(VirtualMachine vm, int vcpu, ulong gfn, Hva hva)
    {
        _vm = vm;
        _vcpu = vcpu;
        Gfn = gfn;
        Hva = hva;
    }

    /// <summary>The cached guest frame.</summary>
    public ulong Gfn { get; }

    /// <summary>Its host virtual address (<c>gpc-&gt;uhva</c>).</summary>
    public Hva Hva { get; }

    /// <summary>True while the cache holds a pfn its users may read.</summary>
    public bool IsValid
    {
        get
        {
            _lock.EnterRead();
            try
            {
                return _valid;
            }
            finally
            {
                _lock.ExitRead();
            }
        }
    }

    /// <summary>The cached pfn while the cache is valid, else null.</summary>
    public Pfn? CachedPfn
    {
        get
        {
            _lock.EnterRead();
            try
            {
                return _valid ? _pfn : null;
            }
            finally
            {
                _lock.ExitRead();
            }
        }
    }

    /// <summary>Refreshes that ended with a valid cache.</summary>
    public long Refreshes { get; private set; }

    /// <summary>Passes of the refresh loop that <c>mmu_notifier_retry_cache</c> sent round again.</summary>
    public long Retries { get; private set; }

    /// <summary>
    /// <c>gfn_to_pfn_cache_invalidate_start</c>: if the cache maps a page in [start, end), mark it invalid. Called by
    /// a start after it raised <c>mn_active_invalidate_count</c> and before it returns to the host.
    /// </summary>
    /// <returns>True if the cache was invalidated (its owner should refresh it).</returns>
    internal bool InvalidateStart(Hva start, Hva end)
    {
        if (Hva < start || Hva >= end)
        {
            return false;
        }

        _lock.EnterWrite();
        try
        {
            var was = _valid;
            _valid = false;
            return was;
        }
        finally
        {
            _lock.ExitWrite();
        }
    }

    /// <summary>Marks the cache invalid whatever it maps (release, unregister).</summary>
    internal void Invalidate() => InvalidateStart(Hva, Hva + Hva.PageSize);

    /// <summary>
    /// <c>kvm_gpc_check</c> then a read through the cache, under its read lock: false if the cache is invalid.
    /// </summary>
    internal bool TryRead(PhysicalMemory memory, out ulong value)
    {
        _lock.EnterRead();
        try
        {
            if (!_valid)
            {
                value = 0;
                return false;
            }

            value = memory.Read(_pfn, new AccessSite(_vm.Name, _vcpu, Gfn));
            return true;
        }
        finally
        {
            _lock.ExitRead();
        }
    }

    /// <summary>
    /// <c>kvm_gpc_refresh</c> → <c>hva_to_pfn_retry</c>: sample the sequence, resolve the page without the lock,
    /// retake the lock, and go round again while <c>mmu_notifier_retry_cache</c> says an invalidation ran or is
    /// running. Called only by the owning vCPU's thread, outside guest mode.
    /// </summary>
    /// <returns>False if the page cannot be resolved, the VM is released or detached, or a stop was requested.</returns>
    internal bool Refresh(Vcpu owner)
    {
        var memory = _vm.AddressSpace.Host.Memory;
        var newPfn = default(Pfn);
        var held = false;
        long mmuSeq;
        _lock.EnterWrite();
        // "Invalidate the cache prior to dropping gpc->lock."
        _valid = false;
        do
        {
            mmuSeq = _vm.InvalidateSeq; // mmu_seq = gpc->kvm->mmu_invalidate_seq; smp_rmb() (an acquire load)
            _lock.ExitWrite();

            // "If the previous iteration 'failed' due to an mmu_notifier event, release the pfn ... after dropping the
            // lock. Opportunistically check for resched while the lock isn't held."
            if (held)
            {
                memory.Put(newPfn);
                held = false;
                Retries++;
                // cond_resched(): the loop goes round at once, as KVM's does, yielding the core now and then.
                if (Retries % 64 == 0 || SchedulingPoint.IsControlled)
                {
                    SchedulingPoint.Yield("hva_to_pfn_retry cond_resched");
                }
            }

            if (_vm.Released || !_vm.NotifierAttached || owner.StopRequested)
            {
                return false;
            }

            // hva_to_pfn. A read-only resolution: this consumer only reads, and a write would break COW on a forked guest.
            var gup = _vm.AddressSpace.GetUserPages(Hva, write: false);
            if (gup.Status != HostStatus.Ok)
            {
                return false;
            }

            newPfn = gup.Pfn;
            held = true;
            _lock.EnterWrite();
            Debug.Assert(!_valid, "other tasks wait for this refresh to complete before refreshing (WARN_ON_ONCE(gpc->valid))");
        }
        while (_vm.MmuNotifierRetryCache(mmuSeq));

        var ok = !_vm.Released && _vm.NotifierAttached;
        if (ok)
        {
            _vm.CheckPfnCacheRefresh(Gfn, Hva, newPfn, _vcpu);
            _valid = true;
            _pfn = newPfn;
            Refreshes++;
        }

        _lock.ExitWrite();
        memory.Put(newPfn); // the cache keeps no reference: the notifier keeps it coherent
        return ok;
    }
}
