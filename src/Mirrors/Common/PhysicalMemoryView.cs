using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Physical;

namespace Hypervisor.Mirrors.Common;

/// <summary>
/// A client's accesses to host frames, through <see cref="PhysicalMemory"/>'s checked read and write: a freed frame
/// reads as poison and is reported as a use-after-free naming the client.
/// </summary>
internal sealed class PhysicalMemoryView(PhysicalMemory memory, string actor)
{
    public PhysicalMemory Memory { get; } = memory;

    public ulong Read(Pfn pfn, ulong vpn) => Memory.Read(pfn, new AccessSite(actor, -1, vpn));

    public void Write(Pfn pfn, ulong vpn, ulong value)
    {
        Memory.Write(pfn, value, new AccessSite(actor, -1, vpn));
        Memory.MarkDirty(pfn);
    }
}
