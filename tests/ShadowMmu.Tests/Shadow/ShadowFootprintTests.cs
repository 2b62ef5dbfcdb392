using Hypervisor.HostMemory;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests.Shadow;

/// <summary>Shadow mode's hot path allocates nothing, and its structures cost a bounded number of bytes per mapped page.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class ShadowFootprintTests
{
    private const ulong DataPages = 64 * 1024; // 256 MiB of guest memory mapped through guest page tables

    [Test]
    public void A_tlb_hit_access_by_guest_virtual_page_allocates_nothing()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        for (var g = 0UL; g < 16; g++)
        {
            tables.Map(g, g);
        }

        tables.Load();
        vcpu.EnterGuest();
        for (var g = 0UL; g < 16; g++)
        {
            vcpu.AccessVirtual(g, write: true, g);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        ulong sum = 0;
        for (var i = 0; i < 100_000; i++)
        {
            sum += vcpu.AccessVirtual((ulong)(i & 15), write: (i & 3) == 0, (ulong)i).Value;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        vcpu.ExitGuest();
        Assert.That(allocated, Is.Zero, $"100k accesses allocated {allocated} bytes (sum {sum})");
    }

    [Test]
    public void A_mapped_page_costs_the_shadow_mmu_at_most_32_bytes()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow, guestPages: DataPages + 256);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu, firstFrame: DataPages + 255);
        for (var g = 0UL; g < DataPages; g++)
        {
            tables.Map(g, g);
            Assert.That(env.Mm.HostWrite(env.HvaOf(g), g), Is.EqualTo(HostStatus.Ok), "host populates");
        }

        tables.Load();
        var shadow = env.Vm.Shadow!;
        var fixedBytes = shadow.FootprintBytes(); // per-gfn arrays, allocated with the VM
        vcpu.EnterGuest();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var g = 0UL; g < DataPages; g++)
        {
            vcpu.AccessVirtual(g, write: false, 0);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        vcpu.ExitGuest();
        var total = shadow.FootprintBytes();
        var perPage = (double)total / DataPages;
        TestContext.Out.WriteLine($"shadow mode: {total} bytes of shadow pages, reverse map and write tracking for {DataPages} mapped pages " +
            $"= {perPage:0.00} bytes/page ({fixedBytes} of them per-gfn arrays allocated with the VM; the faults allocated " +
            $"{(double)allocated / DataPages:0.00} bytes/page; {shadow.Pages.Count} shadow pages); guest table contents " +
            $"{(double)shadow.Tables.FootprintBytes / DataPages:0.00} bytes/page more");
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.CountPresentSptes(), Is.EqualTo((long)DataPages), "every page is mapped");
            Assert.That(perPage, Is.LessThanOrEqualTo(32.0), "at most 32 bytes of simulator memory per mapped page");
        });
    }
}
