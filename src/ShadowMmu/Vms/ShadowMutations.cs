namespace Hypervisor.ShadowMmu.Vms;

/// <summary>
/// Deliberately broken variants of the secondary side of the protocol, selected by options (never by editing
/// code). Each exists so that a test can show the coherence oracle catches it.
/// </summary>
[Flags]
public enum ShadowMutations
{
    None = 0,
    /// <summary>The fault path ignores a moved <c>InvalidateSeq</c> (race B of the reference).</summary>
    NoSeqCheck = 1 << 0,
    /// <summary>The fault path ignores an invalidation in progress over the gfn (race A).</summary>
    NoInProgressCheck = 1 << 1,
    /// <summary>The fault path samples the sequence after <c>GetUserPages</c> instead of before.</summary>
    SeqAfterGup = 1 << 2,
    /// <summary>Zapping does not shoot down the vCPUs' TLBs.</summary>
    NoTlbFlush = 1 << 3,
    /// <summary>Invalidation does not zap shadow entries.</summary>
    NoZap = 1 << 4,
    /// <summary>Zapping drops the SPTE's dirty bit instead of passing it to the host page.</summary>
    NoDirtyPropagation = 1 << 5,
    /// <summary>Aging never reports the SPTEs' accessed bits to the host.</summary>
    NoYoungPropagation = 1 << 6,
    /// <summary>
    /// The end of an invalidation publishes its count decrements (<c>mmu_invalidate_in_progress</c>,
    /// <c>mn_active_invalidate_count</c>) before the <c>mmu_invalidate_seq</c> increase: a lockless reader (the pfn
    /// cache's <c>mmu_notifier_retry_cache</c>) can then see neither the open section nor the new sequence.
    /// </summary>
    EndOrderSwapped = 1 << 7,

    /// <summary>
    /// Shadow mode: a new shadow page does not write-protect the guest table it shadows (<c>account_shadowed</c> skips
    /// <c>__kvm_write_track_add_gfn</c> and <c>rmap_write_protect</c>), so guest edits of that table do not trap and
    /// its SPTEs outlive them.
    /// </summary>
    NoGptWriteProtect = 1 << 10,

    /// <summary>
    /// Shadow mode: an rmap-based zap (<c>kvm_zap_rmap</c>) clears only the first SPTE of each gfn's list: the other
    /// aliases of the page keep mapping the old host frame.
    /// </summary>
    RmapZapsOneAlias = 1 << 11,

    /// <summary>Shadow mode: INVLPG syncs the shadow entry but flushes no TLB (neither <c>flush_tlb_gva</c> nor the remote flush).</summary>
    NoInvlpgFlush = 1 << 12,

    /// <summary>
    /// A zap whose gfn range covers only part of a 2 MiB SPTE leaves it (it zaps the 4 KiB entries of the range only):
    /// the iterator does not round the gfn down to the huge entry's level, so the rest of the huge mapping survives an
    /// invalidation of part of it (P16).
    /// </summary>
    HugeSptePartialZap = 1 << 13,

    /// <summary>
    /// <c>kvm_mmu_notifier_invalidate_range_start</c> zaps the gfns of the first memslot over the hva range only, as if
    /// <c>__kvm_handle_hva_range</c> stopped at the first slot: an aliasing memslot keeps mapping the old frame.
    /// </summary>
    HvaRangeFirstSlotOnly = 1 << 16,
}
