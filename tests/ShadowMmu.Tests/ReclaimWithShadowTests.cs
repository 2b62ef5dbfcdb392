using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>
/// Host reclaim behind a running guest: content survives swap-out and swap-in through the shadow MMU, and accessed
/// bits set by the guest only in its shadow page table keep its hot pages resident.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class ReclaimWithShadowTests
{
    private const ulong GuestPages = 4096;   // 16 MiB of guest memory
    private const long HostRam = 8L << 20;   // on 8 MiB of host RAM: overcommitted twice
    private const int HotPages = 256;

    private sealed class Overcommitted : IDisposable
    {
        public Overcommitted(ShadowMutations mutations)
        {
            Host = new HostSystem(new HostOptions { RamBytes = HostRam, SwapBytes = 64L << 20 });
            Manager = new HostMemoryManager(Host);
            Mm = Host.CreateAddressSpace("vmm");
            var hva = Mm.Mmap(GuestPages * Hva.PageSize, VmaKind.AnonymousPrivate, Protection.ReadWrite);
            Vm = new VirtualMachine("guest", Mm, [new Memslot(0, 0, GuestPages, hva)], new VmOptions { Mutations = mutations });
        }

        public HostSystem Host { get; }

        public HostMemoryManager Manager { get; }

        public AddressSpace Mm { get; }

        public VirtualMachine Vm { get; }

        public void Dispose()
        {
            Vm.Dispose();
            Manager.Dispose();
        }
    }

    [Test]
    public void Guest_data_survives_being_swapped_out_and_in_behind_the_shadow_mmu()
    {
        using var env = new Overcommitted(ShadowMutations.None);
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        for (var g = 0UL; g < GuestPages; g++)
        {
            Assert.That(vcpu.Access(new Gfn(g), write: true, 0xC0DE_0000UL + g).IsOk, Is.True, "write fits only with reclaim");
        }

        var mismatches = 0;
        for (var g = 0UL; g < GuestPages; g++)
        {
            mismatches += vcpu.Access(new Gfn(g), write: false, 0).Value == 0xC0DE_0000UL + g ? 0 : 1;
        }

        vcpu.ExitGuest();
        Assert.Multiple(() =>
        {
            Assert.That(env.Host.Read(HostCounter.SwapOuts), Is.GreaterThan(0), "twice overcommitted: pages went to swap");
            Assert.That(env.Host.Read(HostCounter.SwapIns), Is.GreaterThan(0), "and came back");
            Assert.That(mismatches, Is.Zero, "every page reads back what the guest wrote");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }

    /// <summary>
    /// Swap-ins of the hot set over rounds of "guest reads its hot pages, then streams writes through cold pages":
    /// the stream keeps memory full, so direct reclaim runs on every round and must choose what to evict.
    /// </summary>
    private static long HotSwapIns(ShadowMutations mutations)
    {
        using var env = new Overcommitted(mutations);
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        for (var g = 0UL; g < GuestPages; g++)
        {
            vcpu.Access(new Gfn(g), write: true, g);
        }

        var hotSwapIns = 0L;
        var cold = (ulong)HotPages;
        for (var round = 0; round < 30; round++)
        {
            var before = env.Host.Read(HostCounter.SwapIns);
            for (var g = 0UL; g < HotPages; g++)
            {
                vcpu.Access(new Gfn(g), write: false, 0); // after the first round, seen only by the SPTE's accessed bit
            }

            hotSwapIns += env.Host.Read(HostCounter.SwapIns) - before;
            for (var i = 0; i < 512; i++)
            {
                vcpu.Access(new Gfn(cold), write: true, cold);
                cold = cold + 1 < GuestPages ? cold + 1 : HotPages;
            }
        }

        vcpu.ExitGuest();
        Assert.That(env.Host.Violations.Total, Is.Zero, "no violation either way");
        return hotSwapIns;
    }

    [Test]
    public void Accessed_bits_from_the_shadow_mmu_keep_hot_guest_pages_resident()
    {
        var intact = HotSwapIns(ShadowMutations.None);
        var blind = HotSwapIns(ShadowMutations.NoYoungPropagation);
        TestContext.Out.WriteLine($"hot-page swap-ins over 30 rounds: {intact} with young propagation, {blind} without");
        Assert.That(blind, Is.GreaterThan(2 * intact + 100),
            "without the shadow MMU's accessed bits the host swaps out the pages the guest uses most");
    }
}
