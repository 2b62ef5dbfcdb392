using Hypervisor.HostMemory.Diagnostics;

namespace Hypervisor.GuestModel.Oracle;

/// <summary>Violations of memory semantics as a guest would notice them.</summary>
public static class OracleViolations
{
    /// <summary>A vCPU read something other than what it last wrote to its own page, with nothing to explain it.</summary>
    public static readonly ViolationKind LostWrite = new("lost-write");

    /// <summary>A read returned an older value of the same writer after a newer one was seen.</summary>
    public static readonly ViolationKind StaleRead = new("stale-read");

    /// <summary>A read returned a value written for another page or by nobody.</summary>
    public static readonly ViolationKind ForeignData = new("foreign-data");

    /// <summary>Fork isolation broken: a child saw the parent's later writes, or the parent saw the child's.</summary>
    public static readonly ViolationKind CowIsolation = new("cow-isolation");

    /// <summary>Shadow mode: an access the guest's page tables forbid (not present, or a write to a read-only page) completed.</summary>
    public static readonly ViolationKind GuestMappingIgnored = new("guest-mapping-ignored");

    /// <summary>Shadow mode: an access the guest's page tables allow became a guest page fault.</summary>
    public static readonly ViolationKind SpuriousGuestFault = new("spurious-guest-page-fault");

    /// <summary>At the end of a run: a section left open, a page reference not dropped, a frame leaked.</summary>
    public static readonly ViolationKind ProtocolAtEnd = new("protocol-at-end");
}
