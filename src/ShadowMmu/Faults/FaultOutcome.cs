namespace Hypervisor.ShadowMmu.Faults;

/// <summary>Result of one pass through the guest fault path.</summary>
public enum FaultOutcome : byte
{
    /// <summary>An SPTE now maps the gfn (or already did); the access walks again.</summary>
    Installed,
    /// <summary><c>RET_PF_RETRY</c>: nothing installed; the guest re-executes the access.</summary>
    Retry,
    /// <summary>No memslot, or a write to a read-only memslot.</summary>
    Mmio,
    /// <summary>The host could not resolve the page.</summary>
    HostFault,
    /// <summary>The address space has exited.</summary>
    VmDead,
    /// <summary>Shadow mode: the guest walk failed; a page fault is injected into the guest.</summary>
    GuestPageFault,
}
