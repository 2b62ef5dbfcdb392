using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;

namespace Hypervisor.Mirrors.Tests.Support;

/// <summary>Small hosts for the client tests.</summary>
public static class Hosts
{
    public static (HostSystem Host, AddressSpace Mm) WithSpace(NotifierProfile profile = NotifierProfile.Modern, long ramBytes = 64L << 20)
    {
        var host = new HostSystem(new HostOptions { RamBytes = ramBytes });
        return (host, host.CreateAddressSpace("process", profile));
    }

    public static Hva MapAnon(this AddressSpace mm, ulong pages, Protection protection = Protection.ReadWrite) =>
        mm.Mmap(pages * Hva.PageSize, VmaKind.AnonymousPrivate, protection);

    /// <summary>The CPU writes <paramref name="value"/>(i) to page i.</summary>
    public static void Fill(this AddressSpace mm, Hva start, ulong pages, Func<ulong, ulong> value)
    {
        for (ulong i = 0; i < pages; i++)
        {
            if (mm.HostWrite(start.AddPages(i), value(i)) != HostStatus.Ok)
            {
                throw new InvalidOperationException($"CPU write of page {i} failed");
            }
        }
    }

    public static ulong CpuRead(this AddressSpace mm, Hva hva) =>
        mm.HostRead(hva, out var value) == HostStatus.Ok ? value : throw new InvalidOperationException($"CPU read of {hva} failed");
}
