using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>Hosts built by a test are checked for violations when it ends, whatever it asserted itself.</summary>
public abstract class ReclaimFixture
{
    private readonly List<HostSystem> _hosts = [];

    /// <summary>A host with <paramref name="frames"/> frames (frame 0 is the zero page) and <paramref name="swapSlots"/> swap slots.</summary>
    protected HostSystem NewHost(int frames, int swapSlots = 0, HostMutations mutations = HostMutations.None)
    {
        var host = new HostSystem(new HostOptions
        {
            RamBytes = (long)frames << Hva.PageShift,
            SwapBytes = (long)swapSlots << Hva.PageShift,
            Mutations = mutations,
        });
        _hosts.Add(host);
        return host;
    }

    /// <summary>Maps <paramref name="pages"/> of private anonymous memory and writes <paramref name="valueOf"/>(i) to page i.</summary>
    protected static Hva MapAndFill(AddressSpace mm, int pages, Func<int, ulong> valueOf)
    {
        var start = mm.Mmap((ulong)pages << Hva.PageShift, VmaKind.AnonymousPrivate, Protection.ReadWrite);
        for (var i = 0; i < pages; i++)
        {
            Assert.That(mm.HostWrite(start.AddPages((ulong)i), valueOf(i)), Is.EqualTo(HostStatus.Ok), $"page {i} is written");
        }

        return start;
    }

    /// <summary>
    /// One page of private anonymous memory holding <paramref name="content"/> in a fresh address space, with a
    /// <see cref="ProbeNotifier"/> registered and watching that page's PTE and frame.
    /// </summary>
    protected static (AddressSpace Mm, ProbeNotifier Probe, Hva Hva, Pfn Pfn) WatchedPage(HostSystem host, NotifierProfile profile, ulong content)
    {
        var mm = host.CreateAddressSpace("vmm", profile);
        var probe = new ProbeNotifier(host);
        mm.RegisterNotifier(probe);
        var hva = MapAndFill(mm, 1, _ => content);
        var pfn = Pte.PfnOf(mm.PteOf(hva));
        probe.Watch = (mm, hva, pfn);
        return (mm, probe, hva, pfn);
    }

    protected static ulong ReadWord(AddressSpace mm, Hva hva)
    {
        Assert.That(mm.HostRead(hva, out var value), Is.EqualTo(HostStatus.Ok), $"{hva} can be read");
        return value;
    }

    [TearDown]
    public void NoHostReportedAViolation()
    {
        try
        {
            foreach (var host in _hosts)
            {
                Assert.That(host.Violations.Total, Is.Zero,
                    "no violations: " + string.Join("; ", host.Violations.FirstOccurrences().Select(v => v.Detail)));
            }
        }
        finally
        {
            _hosts.Clear();
        }
    }
}
