namespace Hypervisor.HostMemory.Diagnostics;

/// <summary>
/// Who is touching a frame, passed by reference on the access paths so that a use-after-free can be reported
/// with its context without costing anything when no violation happens.
/// </summary>
/// <param name="Actor">A guest name, <c>host</c>, or a component such as <c>ksm</c>.</param>
/// <param name="Vcpu">The vCPU index, or -1.</param>
/// <param name="Address">A gfn for guest accesses, an hva page number for host accesses.</param>
public readonly record struct AccessSite(string Actor, int Vcpu, ulong Address)
{
    public static AccessSite Host(Hva hva) => new("host", -1, hva.PageNumber);
}
