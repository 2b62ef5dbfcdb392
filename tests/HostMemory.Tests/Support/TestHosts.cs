using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;

namespace Hypervisor.HostMemory.Tests.Support;

/// <summary>Small hosts and common steps shared by the fixtures.</summary>
public static class TestHosts
{
    /// <summary>How long a test waits to conclude that a thread is blocked (it must still be blocked after this).</summary>
    public static readonly TimeSpan BlockedProbe = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a test waits for something that must happen (a generous bound; it normally takes micros).</summary>
    public static readonly TimeSpan MustHappen = TimeSpan.FromSeconds(10);

    public static HostSystem Host(long ramBytes = 64L << 20, HostMutations mutations = HostMutations.None, long swapBytes = 0) =>
        new(new HostOptions { RamBytes = ramBytes, Mutations = mutations, SwapBytes = swapBytes });

    /// <summary>A host with one address space (the VMM process) of the given profile.</summary>
    public static (HostSystem Host, AddressSpace Mm) WithSpace(NotifierProfile profile = NotifierProfile.Modern,
        HostMutations mutations = HostMutations.None, long ramBytes = 64L << 20)
    {
        var host = Host(ramBytes, mutations);
        return (host, host.CreateAddressSpace("vmm", profile));
    }

    /// <summary>Maps private anonymous read-write memory of <paramref name="pages"/> pages.</summary>
    public static Hva MapAnon(this AddressSpace mm, ulong pages, Protection protection = Protection.ReadWrite) =>
        mm.Mmap(pages * Hva.PageSize, VmaKind.AnonymousPrivate, protection);

    /// <summary>Writes <c>value + page index</c> to each of the first <paramref name="pages"/> pages, asserting success.</summary>
    public static void Populate(this AddressSpace mm, Hva start, ulong pages, ulong value = 0x1000)
    {
        for (ulong p = 0; p < pages; p++)
        {
            var status = mm.HostWrite(start.AddPages(p), value + p);
            if (status != HostStatus.Ok)
            {
                throw new InvalidOperationException($"populating page {p} of {start} failed: {status}");
            }
        }
    }

    /// <summary>The frame currently mapped at <paramref name="hva"/> (throws if none is present).</summary>
    public static Pfn PfnAt(this AddressSpace mm, Hva hva)
    {
        var pte = mm.PteOf(hva);
        return Pte.IsPresent(pte) ? Pte.PfnOf(pte) : throw new InvalidOperationException($"no page at {hva}");
    }

    /// <summary>Reads a word, asserting the read itself succeeded.</summary>
    public static ulong ReadWord(this AddressSpace mm, Hva hva)
    {
        var status = mm.HostRead(hva, out var value);
        return status == HostStatus.Ok ? value : throw new InvalidOperationException($"read of {hva} failed: {status}");
    }
}
