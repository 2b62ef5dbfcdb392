namespace Hypervisor.HostMemory.Diagnostics;

/// <summary>One detected violation with the context of its occurrence.</summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Actor">Who noticed: a guest name, <c>host</c>, or a component name.</param>
/// <param name="Vcpu">The vCPU index, or -1 when the access was not a vCPU's.</param>
/// <param name="Address">A gfn for guest accesses, an hva page for host accesses (see <paramref name="Detail"/>).</param>
/// <param name="Pfn">The host frame involved, or -1.</param>
/// <param name="Time">Time since the host was created.</param>
/// <param name="Detail">A sentence a reader of the report can act on.</param>
public sealed record ViolationRecord(
    ViolationKind Kind,
    string Actor,
    int Vcpu,
    ulong Address,
    int Pfn,
    TimeSpan Time,
    string Detail);
