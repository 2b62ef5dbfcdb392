using Hypervisor.HostMemory;
using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.ShadowMmu.Vms;

/// <summary>
/// The notifier's side of the gfn-to-pfn caches (<c>kvm-&gt;mn_active_invalidate_count</c>,
/// <c>gfn_to_pfn_cache_invalidate_start</c>) and their lockless retry check (<c>mmu_notifier_retry_cache</c>).
/// </summary>
public sealed partial class VirtualMachine
{
    // kvm->mn_active_invalidate_count: notifier calls that began and have not finished. Raised before any cache is
    // invalidated, lowered after the sequence moved. (KVM guards it with mn_invalidate_lock; atomics do here.)
    private long _mnActiveInvalidateCount;

    /// <summary><c>mn_active_invalidate_count</c>: invalidations between the start of their start and the end of their end.</summary>
    public long ActiveInvalidateCount => Volatile.Read(ref _mnActiveInvalidateCount);

    /// <summary>
    /// <c>mmu_notifier_retry_cache</c>, without the MMU lock: "mn_active_invalidate_count acts for all intents and
    /// purposes like mmu_invalidate_in_progress here", then the sequence. "Ensure mn_active_invalidate_count is read
    /// before mmu_invalidate_seq. This pairs with the smp_wmb() in mmu_notifier_invalidate_range_end() to guarantee
    /// either the old (non-zero) value of mn_active_invalidate_count or the new (incremented) value of
    /// mmu_invalidate_seq is observed."
    /// </summary>
    internal bool MmuNotifierRetryCache(long mmuSeq)
    {
        if (Volatile.Read(ref _mnActiveInvalidateCount) != 0)
        {
            return true;
        }

        // smp_rmb(): the acquire load above keeps this load after it.
        return _invalidation.Seq != mmuSeq;
    }

    /// <summary>The oracle's look at a pfn cache about to become valid (the cache's lock is held for write).</summary>
    internal void CheckPfnCacheRefresh(ulong gfn, Hva hva, Pfn pfn, int vcpu) => _monitor.CheckCacheRefresh(gfn, hva, pfn, vcpu);

    /// <summary>
    /// Services <see cref="VcpuRequests.PfnCacheRefresh"/> on the vCPU's thread, outside guest mode: refresh the vCPU's
    /// cache and read the guest page through it.
    /// </summary>
    internal void RefreshPfnCache(Vcpu vcpu)
    {
        if (vcpu.PfnCache is { } cache && cache.Refresh(vcpu))
        {
            cache.TryRead(AddressSpace.Host.Memory, out _);
        }
    }

    /// <summary>
    /// First half of <c>kvm_mmu_notifier_invalidate_range_start</c>, before the MMU lock:
    /// <c>mn_active_invalidate_count++</c> (a full fence), then <c>gfn_to_pfn_cache_invalidate_start</c>. A vCPU whose
    /// cache was invalidated is asked to refresh it.
    /// </summary>
    private void BeginActiveInvalidate(Hva start, Hva end)
    {
        Interlocked.Increment(ref _mnActiveInvalidateCount);
        InvalidatePfnCaches(start, end);
    }

    /// <summary>
    /// Last step of <c>kvm_mmu_notifier_invalidate_range_end</c>: <c>--mn_active_invalidate_count</c>, after the
    /// sequence increase was published (the locked section released the MMU lock first).
    /// </summary>
    private void EndActiveInvalidate()
    {
        // "if (!WARN_ON_ONCE(!kvm->mn_active_invalidate_count)) --kvm->mn_active_invalidate_count;"
        var count = Volatile.Read(ref _mnActiveInvalidateCount);
        while (count > 0)
        {
            var seen = Interlocked.CompareExchange(ref _mnActiveInvalidateCount, count - 1, count);
            if (seen == count)
            {
                return;
            }

            count = seen;
        }
    }

    private void InvalidatePfnCaches(Hva start, Hva end)
    {
        foreach (var vcpu in _vcpus)
        {
            if (vcpu.PfnCache?.InvalidateStart(start, end) == true)
            {
                vcpu.MakeRequest(VcpuRequests.PfnCacheRefresh);
            }
        }
    }

    private void InvalidateAllPfnCaches()
    {
        foreach (var vcpu in _vcpus)
        {
            vcpu.PfnCache?.Invalidate();
        }
    }

    private void RequestPfnCacheRefreshes()
    {
        foreach (var vcpu in _vcpus)
        {
            vcpu.MakeRequest(VcpuRequests.PfnCacheRefresh);
        }
    }
}
