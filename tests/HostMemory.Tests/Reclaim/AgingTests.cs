using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Reclaim;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Reclaim;

/// <summary>Aging: the CPU accessed bit OR the secondary's answer decides whether a page is hot.</summary>
public sealed class AgingTests : ReclaimFixture
{
    [Test]
    public void A_page_young_in_the_secondary_is_kept_while_a_cold_one_is_reclaimed()
    {
        var host = NewHost(frames: 64, swapSlots: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var probe = new ProbeNotifier(host);
        mm.RegisterNotifier(probe);
        var start = MapAndFill(mm, 2, i => 10UL + (ulong)i);
        var hot = start;
        var cold = start.AddPages(1);
        probe.KeepYoung(hot);

        var result = manager.ReclaimPass(int.MaxValue);

        Assert.Multiple(() =>
        {
            Assert.That(Pte.IsPresent(mm.PteOf(hot)), Is.True, "the page the guest keeps using stays mapped");
            Assert.That(Pte.IsSwap(mm.PteOf(cold)), Is.True, "the cold page was swapped out");
            Assert.That(result.SwappedOut, Is.EqualTo(1), "only the cold page went");
            Assert.That(host.Read(HostCounter.YoungFromSecondary), Is.EqualTo(1),
                "the hot page was young only through the secondary on the second sweep (the CPU bit was cleared on the first)");
            Assert.That(probe.Calls.Count(c => c.Kind == ProbeKind.ClearFlushYoung && c.Covers(hot)), Is.EqualTo(2),
                "the secondary was asked once per sweep, with the flushing variant");
            Assert.That(probe.Calls.Any(c => c.Kind == ProbeKind.ClearYoung), Is.False, "the default policy never uses ClearYoung");
        });
        Assert.That(ReadWord(mm, cold), Is.EqualTo(11UL), "the cold page's content survived");
    }

    [Test]
    public void The_clear_young_policy_asks_the_secondary_without_a_flush()
    {
        var host = NewHost(frames: 64, swapSlots: 64);
        using var manager = new HostMemoryManager(host, new ReclaimOptions { Aging = AgingPolicy.ClearYoung });
        var mm = host.CreateAddressSpace("vmm");
        var probe = new ProbeNotifier(host);
        mm.RegisterNotifier(probe);
        var hva = MapAndFill(mm, 1, _ => 1);
        probe.KeepYoung(hva);

        var result = manager.AgeAll();

        Assert.Multiple(() =>
        {
            Assert.That(probe.Calls.Count(c => c.Kind == ProbeKind.ClearYoung), Is.EqualTo(1), "ClearYoung was called for the page");
            Assert.That(probe.Calls.Any(c => c.Kind == ProbeKind.ClearFlushYoung), Is.False, "ClearFlushYoung was not");
            Assert.That(result.Young, Is.EqualTo(1), "the page is young");
        });
    }

    [Test]
    public void Aging_clears_the_cpu_accessed_bit_so_an_untouched_page_is_cold_on_the_next_scan()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var start = MapAndFill(mm, 8, i => (ulong)i);

        var first = manager.AgeAll();
        ReadWord(mm, start); // touch page 0 only
        var second = manager.AgeAll();

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(new AgingResult(8, 8, 0, 0)), "just written: all eight pages young");
            Assert.That(second, Is.EqualTo(new AgingResult(8, 1, 0, 0)), "only the touched page is young the second time");
            Assert.That(host.Read(HostCounter.AgingScans), Is.EqualTo(16), "AgingScans counts every page aged");
            Assert.That(mm.PteOf(start) & Pte.Accessed, Is.Zero, "the accessed bit was cleared again");
            Assert.That(host.Read(HostCounter.YoungFromSecondary), Is.Zero, "no secondary, nothing young from it");
        });
    }

    [Test]
    public void Aging_sends_no_invalidation()
    {
        var host = NewHost(frames: 64);
        using var manager = new HostMemoryManager(host);
        var mm = host.CreateAddressSpace("vmm");
        var probe = new ProbeNotifier(host);
        mm.RegisterNotifier(probe);
        MapAndFill(mm, 4, i => (ulong)i);

        manager.AgeAll();

        Assert.That(probe.Calls.Select(c => c.Kind).Distinct(), Is.EqualTo(new[] { ProbeKind.ClearFlushYoung }),
            "aging changes no pfn: only the young callbacks run (kvm_age_gfn touches no invalidation counter)");
    }
}
