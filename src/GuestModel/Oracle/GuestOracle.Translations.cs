using Hypervisor.HostMemory;
using Hypervisor.ShadowMmu.Shadow;

namespace Hypervisor.GuestModel.Oracle;

/// <summary>Shadow mode: accesses the guest's own page tables forbid or allow, compared with what the MMU did.</summary>
public sealed partial class GuestOracle
{
    /// <summary>An access the guest tables forbid completed: a stale shadow entry outlived the guest's change.</summary>
    public void GuestMappingIgnored(int vcpu, long page, bool write, GuestFaultKind fault, Pfn pfn) =>
        Report(OracleViolations.GuestMappingIgnored, vcpu, page, pfn,
            $"a {(write ? "write" : "read")} through guest virtual page 0x{page:x} completed though the guest's tables say " +
            (fault == GuestFaultKind.NotPresent ? "not present" : "read-only"));

    /// <summary>An access the guest tables allow became a guest page fault.</summary>
    public void SpuriousGuestFault(int vcpu, long page, bool write, ulong gfn) =>
        Report(OracleViolations.SpuriousGuestFault, vcpu, page, default,
            $"a {(write ? "write" : "read")} through guest virtual page 0x{page:x} faulted though the guest's tables map it to gfn 0x{gfn:x}");
}
