using Hypervisor.HostMemory;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>The hot paths allocate nothing, and a mapped page costs the shadow MMU at most 16 bytes.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class FootprintTests
{
    [Test]
    public void A_tlb_hit_access_allocates_nothing()
    {
        using var env = new TestVm();
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        for (var g = 0UL; g < 16; g++)
        {
            vcpu.Access(new Gfn(g), write: true, g);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        ulong sum = 0;
        for (var i = 0; i < 100_000; i++)
        {
            sum += vcpu.Access(new Gfn((ulong)(i & 15)), write: (i & 3) == 0, (ulong)i).Value;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        vcpu.ExitGuest();
        Assert.That(allocated, Is.Zero, $"100k accesses allocated {allocated} bytes (sum {sum})");
    }

    [Test]
    public void The_fault_path_allocates_only_shadow_table_leaves_and_a_mapped_page_costs_at_most_16_bytes()
    {
        const ulong pages = 64 * 1024; // 256 MiB of guest memory: the directories amortize as they would at scale
        using var env = new TestVm(guestPages: pages);
        for (var g = 0UL; g < pages; g++)
        {
            // The host pages and host page tables exist before the measurement.
            Assert.That(env.Mm.HostWrite(env.HvaOf(g), g), Is.EqualTo(HostStatus.Ok), "host populates");
        }

        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var g = 0UL; g < pages; g++)
        {
            vcpu.Access(new Gfn(g), write: false, 0);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        vcpu.ExitGuest();
        var perPage = (double)allocated / pages;
        TestContext.Out.WriteLine($"shadow MMU: {allocated} bytes for {pages} mapped pages = {perPage:0.00} bytes/page, {env.Vm.Table.LeafCount} leaves");
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.CountPresentSptes(), Is.EqualTo((long)pages), "every page is mapped");
            Assert.That(perPage, Is.LessThanOrEqualTo(16.0), "at most 16 bytes of simulator memory per mapped page");
        });
    }
}
