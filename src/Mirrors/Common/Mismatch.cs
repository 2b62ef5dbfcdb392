using Hypervisor.HostMemory.Diagnostics;

namespace Hypervisor.Mirrors.Common;

/// <summary>A client entry that disagrees with the primary: where, the entry as the client holds it, and why.</summary>
/// <param name="Vpn">The host virtual page.</param>
/// <param name="Entry">The client's entry (client-specific encoding), to recognise it on a second look.</param>
/// <param name="Pfn">The frame the entry maps.</param>
/// <param name="Kind">What is wrong.</param>
/// <param name="Detail">One line for the report.</param>
public readonly record struct Mismatch(ulong Vpn, ulong Entry, int Pfn, ViolationKind Kind, string Detail);
