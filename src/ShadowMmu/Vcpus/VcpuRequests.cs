namespace Hypervisor.ShadowMmu.Vcpus;

/// <summary>Request bits posted to a vCPU (<c>vcpu-&gt;requests</c>), serviced before it next runs guest code.</summary>
[Flags]
public enum VcpuRequests
{
    None = 0,
    /// <summary><c>KVM_REQ_TLB_FLUSH</c>: drop every cached translation.</summary>
    TlbFlush = 1 << 0,
}
