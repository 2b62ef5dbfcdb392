namespace Hypervisor.HostMemory.Notifiers;

/// <summary>Why the primary MMU invalidates a range (<c>enum mmu_notifier_event</c>). A hint: KVM always zaps.</summary>
public enum NotifierEvent : byte
{
    /// <summary><c>MMU_NOTIFY_UNMAP</c>: the range is going away (munmap).</summary>
    Unmap,
    /// <summary><c>MMU_NOTIFY_CLEAR</c>: PTEs cleared for another reason (madvise, COW, reclaim, KSM).</summary>
    Clear,
    /// <summary><c>MMU_NOTIFY_PROTECTION_VMA</c>: the whole range takes the VMA's new protection (mprotect).</summary>
    ProtectionVma,
    /// <summary><c>MMU_NOTIFY_PROTECTION_PAGE</c>: per-page write-protect (fork, page_mkclean).</summary>
    ProtectionPage,
    /// <summary><c>MMU_NOTIFY_SOFT_DIRTY</c>: soft-dirty tracking reset.</summary>
    SoftDirty,
    /// <summary><c>MMU_NOTIFY_RELEASE</c>: the address space is being torn down.</summary>
    Release,
    /// <summary><c>MMU_NOTIFY_MIGRATE</c>: pages move to new frames.</summary>
    Migrate,
}
