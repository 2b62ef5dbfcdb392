namespace Hypervisor.ShadowMmu.Shadow;

/// <summary>
/// Counters of the shadow MMU of one VM. Most are bumped under the MMU write lock; all use <see cref="Interlocked"/>
/// so that readers on other threads see whole values. None is on the TLB-hit path.
/// </summary>
public sealed class ShadowStats
{
    private long _pagesCreated;
    private long _pagesZapped;
    private long _guestPageFaults;
    private long _emulatedWrites;
    private long _directStores;
    private long _unsyncs;
    private long _syncedSptes;
    private long _invlpgs;
    private long _cr3Loads;
    private long _rootsAllocated;
    private long _gpteChangedRetries;

    /// <summary>Shadow pages created (<c>kvm_mmu_alloc_shadow_page</c>).</summary>
    public long PagesCreated => Interlocked.Read(ref _pagesCreated);

    /// <summary>Shadow pages zapped (<c>kvm_mmu_prepare_zap_page</c>).</summary>
    public long PagesZapped => Interlocked.Read(ref _pagesZapped);

    /// <summary>Guest walks that failed: page faults injected into the guest.</summary>
    public long GuestPageFaults => Interlocked.Read(ref _guestPageFaults);

    /// <summary>Guest stores to write-tracked table frames, emulated (<c>kvm_mmu_track_write</c>).</summary>
    public long EmulatedWrites => Interlocked.Read(ref _emulatedWrites);

    /// <summary>Guest stores to table frames that did not trap (unsync or unshadowed frames).</summary>
    public long DirectStores => Interlocked.Read(ref _directStores);

    /// <summary>Leaf shadow pages marked unsync (<c>kvm_unsync_page</c>).</summary>
    public long Unsyncs => Interlocked.Read(ref _unsyncs);

    /// <summary>SPTEs changed or dropped by a sync (<c>FNAME(sync_spte)</c>).</summary>
    public long SyncedSptes => Interlocked.Read(ref _syncedSptes);

    /// <summary>INVLPG exits (<c>kvm_mmu_invlpg</c>).</summary>
    public long Invlpgs => Interlocked.Read(ref _invlpgs);

    /// <summary>CR3 loads (<c>kvm_mmu_new_pgd</c>).</summary>
    public long Cr3Loads => Interlocked.Read(ref _cr3Loads);

    /// <summary>Roots allocated (a CR3 load that missed the root cache, or a reload after a zap).</summary>
    public long RootsAllocated => Interlocked.Read(ref _rootsAllocated);

    /// <summary>Faults retried because a gpte changed after the walk (<c>FNAME(gpte_changed)</c>).</summary>
    public long GpteChangedRetries => Interlocked.Read(ref _gpteChangedRetries);

    internal void PageCreated() => Interlocked.Increment(ref _pagesCreated);

    internal void PageZapped() => Interlocked.Increment(ref _pagesZapped);

    internal void GuestPageFault() => Interlocked.Increment(ref _guestPageFaults);

    internal void EmulatedWrite() => Interlocked.Increment(ref _emulatedWrites);

    internal void DirectStore() => Interlocked.Increment(ref _directStores);

    internal void Unsynced() => Interlocked.Increment(ref _unsyncs);

    internal void Synced(int sptes) => Interlocked.Add(ref _syncedSptes, sptes);

    internal void Invlpg() => Interlocked.Increment(ref _invlpgs);

    internal void Cr3Load() => Interlocked.Increment(ref _cr3Loads);

    internal void RootAllocated() => Interlocked.Increment(ref _rootsAllocated);

    internal void GpteChanged() => Interlocked.Increment(ref _gpteChangedRetries);
}
