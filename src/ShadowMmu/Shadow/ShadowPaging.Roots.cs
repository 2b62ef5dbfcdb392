using Hypervisor.ShadowMmu.Vcpus;

namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// vCPU roots: the shadow page of the guest's top-level table (<c>mmu-&gt;root</c>) and a cache of the last
/// three (<c>prev_roots</c>), each holding a <c>root_count</c> reference that keeps a zapped root from being freed.
/// </summary>
public sealed partial class ShadowPaging
{
    /// <summary>Roots a vCPU keeps besides its current one (<c>KVM_MMU_NUM_PREV_ROOTS</c>).</summary>
    public const int PrevRoots = 3;

    /// <summary>
    /// MOV CR3 (<c>kvm_set_cr3</c> → <c>kvm_mmu_new_pgd</c>): keep the current root if it shadows the new table,
    /// else swap in a cached one (<c>cached_root_find_and_keep_current</c>) or allocate one
    /// (<c>mmu_alloc_shadow_roots</c>), then sync every unsync page under it (<c>kvm_mmu_sync_roots</c>). The vCPU
    /// flushes its TLB entries of the new PCID afterwards (<c>KVM_REQ_TLB_FLUSH_CURRENT</c>; no NOFLUSH bit).
    /// </summary>
    internal void LoadCr3(Vcpu vcpu, ulong cr3Gfn)
    {
        _vm.MmuLock.EnterWrite();
        try
        {
            Stats.Cr3Load();
            var current = vcpu.ShadowRoot;
            if (current is null || current.Invalid || current.Gfn != cr3Gfn)
            {
                vcpu.ShadowRoot = TakeCachedRoot(vcpu, cr3Gfn) ?? AllocRoot(cr3Gfn);
                CacheRoot(vcpu, current);
            }

            vcpu.Cr3Gfn = cr3Gfn;
            vcpu.Cr3Loaded = true;
            if (vcpu.ShadowRoot!.UnsyncChildren)
            {
                _pendingFlush |= SyncChildren(vcpu.ShadowRoot);
            }

            CommitZap(flush: false);
        }
        finally
        {
            _vm.MmuLock.ExitWrite();
        }
    }

    /// <summary>
    /// <c>kvm_mmu_reload</c>: a vCPU whose root was zapped (invalid) drops it (<c>kvm_mmu_free_obsolete_roots</c>) and
    /// allocates a fresh one for the same CR3 before it walks again.
    /// </summary>
    internal void EnsureRoot(Vcpu vcpu)
    {
        if (!vcpu.Cr3Loaded || vcpu.ShadowRoot is { Invalid: false })
        {
            return; // a root zapped after this unlocked check makes fetch retry, and the next fault lands here again
        }

        _vm.MmuLock.EnterWrite();
        try
        {
            if (vcpu.ShadowRoot is { Invalid: true } old)
            {
                PutRoot(old);
                vcpu.ShadowRoot = null;
            }

            vcpu.ShadowRoot ??= AllocRoot(vcpu.Cr3Gfn);
            if (vcpu.ShadowRoot.UnsyncChildren)
            {
                _pendingFlush |= SyncChildren(vcpu.ShadowRoot);
            }

            CommitZap(flush: false);
        }
        finally
        {
            _vm.MmuLock.ExitWrite();
        }
    }

    /// <summary><c>mmu_alloc_root</c>: the level-4 page of the guest's top table, with a root reference.</summary>
    private ShadowPage AllocRoot(ulong cr3Gfn)
    {
        var sp = GetShadowPage(cr3Gfn, new ShadowRole(Gpte.Levels, Writable: true));
        sp.RootCount++;
        Stats.RootAllocated();
        return sp;
    }

    /// <summary><c>mmu_free_root_page</c>: drop a root reference; a zapped root is freed with the last one.</summary>
    private void PutRoot(ShadowPage sp)
    {
        AssertWriteLocked("root references change under the MMU write lock");
        if (--sp.RootCount == 0 && sp.Invalid)
        {
            _invalid.Add(sp);
        }
    }

    private static ShadowPage? TakeCachedRoot(Vcpu vcpu, ulong cr3Gfn)
    {
        var cache = vcpu.PrevRoots;
        for (var i = 0; i < cache.Length; i++)
        {
            if (cache[i] is { Invalid: false } sp && sp.Gfn == cr3Gfn)
            {
                Array.Copy(cache, i + 1, cache, i, cache.Length - i - 1);
                cache[^1] = null;
                return sp;
            }
        }

        return null;
    }

    /// <summary>The previous root enters the cache at the front; the least recently used one (and any invalid one) is put.</summary>
    private void CacheRoot(Vcpu vcpu, ShadowPage? previous)
    {
        var cache = vcpu.PrevRoots;
        if (cache[^1] is { } evicted)
        {
            PutRoot(evicted);
        }

        Array.Copy(cache, 0, cache, 1, cache.Length - 1);
        cache[0] = previous;
        for (var i = 0; i < cache.Length; i++)
        {
            if (cache[i] is { Invalid: true } stale)
            {
                PutRoot(stale);
                cache[i] = null;
            }
        }
    }
}
