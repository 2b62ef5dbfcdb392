using Hypervisor.HostMemory.Diagnostics;

namespace Hypervisor.ShadowMmu;

/// <summary>The protocol invariants the shadow MMU checks about itself (reference section 6).</summary>
public static class ShadowViolations
{
    /// <summary>I4: an SPTE installed while an overlapping start/end section was open.</summary>
    public static readonly ViolationKind InstallDuringInvalidation = new("install-during-invalidation");

    /// <summary>I2: an SPTE installed for a pfn the host PTE no longer maps, with no invalidation open.</summary>
    public static readonly ViolationKind StaleInstall = new("stale-install");

    /// <summary>I6: a notifier callback ran (or was still running) after unregister returned.</summary>
    public static readonly ViolationKind CallbackAfterUnregister = new("callback-after-unregister");

    /// <summary>I5: in-progress below zero, or an end without its start.</summary>
    public static readonly ViolationKind UnbalancedInvalidation = new("unbalanced-invalidation");

    /// <summary>
    /// A guest store through a shadow entry or a vCPU TLB entry into a frame that the host, at that moment, does not map
    /// writable at the store's address, after a host section that downgraded or removed that mapping had started
    /// (mprotect to read-only, fork's write-protection, page_mkclean, KSM, unmap, migration, reclaim).
    /// </summary>
    public static readonly ViolationKind WriteToWriteProtected = new("write-to-write-protected");

    /// <summary>
    /// After munmap, madvise or mprotect returned, an SPTE or a vCPU TLB entry still maps a frame the host PTE does not
    /// map at that address, or maps it writable where the host PTE is read-only.
    /// </summary>
    public static readonly ViolationKind MappedAfterOperation = new("mapped-after-operation");

    /// <summary>I14: a get_user_pages reference not dropped exactly once.</summary>
    public static readonly ViolationKind PageReferenceLeak = new("page-reference-leak");

    /// <summary>Shadow mode: a vCPU walk reached a shadow page freed after a zap (the flush before the free was skipped).</summary>
    public static readonly ViolationKind ShadowPageUseAfterFree = new("shadow-page-use-after-free");

    /// <summary>Shadow mode: a leaf SPTE and the reverse map (or a write-track count) disagree.</summary>
    public static readonly ViolationKind RmapMismatch = new("rmap-mismatch");

    /// <summary>
    /// P15: after a host operation returned, a 2 MiB SPTE maps a range the host does not map with one PMD leaf over the
    /// same 512 frames (the host split, collapsed, migrated or unmapped it without a range covering the whole 2 MiB, or
    /// the zap left the huge entry).
    /// </summary>
    public static readonly ViolationKind HugeSpteWithoutHostPmd = new("huge-spte-without-host-pmd");
}
