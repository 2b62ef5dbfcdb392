namespace Hypervisor.ShadowMmu.Vcpus;

/// <summary>How a guest access ended.</summary>
public enum AccessStatus : byte
{
    /// <summary>The access completed against guest RAM.</summary>
    Ok,
    /// <summary>No memslot covers the gfn, or a write hit a read-only slot: an exit to the VMM (<c>KVM_EXIT_MMIO</c>).</summary>
    Mmio,
    /// <summary>The host could not provide the page (unmapped hva, protection, out of memory): <c>-EFAULT</c> to the VMM.</summary>
    HostFault,
    /// <summary>The VM's address space is gone (exit, release): the vCPU cannot run.</summary>
    VmDead,
    /// <summary>The vCPU was asked to stop while the access was retrying.</summary>
    Stopped,
    /// <summary>Shadow mode: the guest's own page tables do not allow the access; the guest takes a page fault.</summary>
    GuestPageFault,
}
