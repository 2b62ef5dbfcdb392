namespace Hypervisor.ShadowMmu.Vcpus;

/// <summary>Request bits posted to a vCPU (<c>vcpu-&gt;requests</c>), serviced before it next runs guest code.</summary>
[Flags]
public enum VcpuRequests
{
    None = 0,
    /// <summary><c>KVM_REQ_TLB_FLUSH</c>: drop every cached translation.</summary>
    TlbFlush = 1 << 0,
    /// <summary>
    /// <c>KVM_REQ_GPC_INVALIDATE</c> (v5.17 to v6.8): the vCPU's gfn-to-pfn cache was invalidated (or never filled);
    /// refresh it before entering the guest.
    /// </summary>
    PfnCacheRefresh = 1 << 1,
    /// <summary>
    /// Not a KVM request: a host operation returned, and the vCPU checks its own TLB against the host page table the
    /// next time it is in guest mode (<see cref="Vms.VirtualMachine.CheckAfterOperation"/>).
    /// </summary>
    CheckTlb = 1 << 2,
}
