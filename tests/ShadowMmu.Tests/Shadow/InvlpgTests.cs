using Hypervisor.ShadowMmu.Shadow;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;
using static Hypervisor.ShadowMmu.Tests.Shadow.GuestAccess;

namespace Hypervisor.ShadowMmu.Tests.Shadow;

/// <summary>INVLPG and CR3 loads: the sync points of unsync leaf pages, and the vCPU TLB keyed by (PCID, page).</summary>
[TestFixture]
[CancelAfter(20_000)]
public class InvlpgTests
{
    /// <summary>gvpn 0x1000 maps gfn 5 (holding 0x55), gfn 6 holds 0x66; the translation is cached.</summary>
    private static (TestVm Env, GuestTables Tables) Mapped(ShadowMutations mutations = ShadowMutations.None)
    {
        var env = new TestVm(mutations, mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        tables.Map(0x1000, 5);
        tables.Map(0x1001, 6);
        tables.Load();
        Access(vcpu, 0x1000, write: true, 0x55);
        Access(vcpu, 0x1001, write: true, 0x66);
        Assert.That(Access(vcpu, 0x1000).Value, Is.EqualTo(0x55UL), "cached translation to gfn 5");
        return (env, tables);
    }

    [Test]
    public void After_a_leaf_remap_and_invlpg_the_next_access_uses_the_new_frame()
    {
        var (env, tables) = Mapped();
        using var _ = env;
        tables.Map(0x1000, 6);
        tables.Vcpu.Invlpg(0x1000);
        Assert.Multiple(() =>
        {
            Assert.That(Access(tables.Vcpu, 0x1000).Value, Is.EqualTo(0x66UL), "reads gfn 6 now");
            Assert.That(env.Vm.Shadow!.Stats.SyncedSptes, Is.GreaterThanOrEqualTo(1), "INVLPG synced the unsync entry");
            Assert.That(env.Vm.Shadow!.Rmap.CountOf(5), Is.Zero, "gfn 5 is no longer mapped");
        });
    }

    [Test]
    public void Before_invlpg_the_old_translation_may_still_be_used_as_the_architecture_allows()
    {
        var (env, tables) = Mapped();
        using var _ = env;
        tables.Map(0x1000, 6);
        Assert.That(Access(tables.Vcpu, 0x1000).Value, Is.EqualTo(0x55UL), "an unsync page lags its gpte until the guest flushes");
    }

    [Test]
    public void Invlpg_of_a_protection_change_makes_the_next_write_a_guest_page_fault()
    {
        var (env, tables) = Mapped();
        using var _ = env;
        tables.Map(0x1000, 5, writable: false);
        tables.Vcpu.Invlpg(0x1000);
        Assert.Multiple(() =>
        {
            Assert.That(Access(tables.Vcpu, 0x1000, write: true, 1).Status, Is.EqualTo(AccessStatus.GuestPageFault), "now read-only");
            Assert.That(Access(tables.Vcpu, 0x1000).Value, Is.EqualTo(0x55UL), "reads still work");
        });
    }

    [Test]
    public void Without_the_invlpg_flush_the_vcpu_keeps_using_the_old_frame()
    {
        var (env, tables) = Mapped(ShadowMutations.NoInvlpgFlush);
        using var _ = env;
        tables.Map(0x1000, 6);
        tables.Vcpu.Invlpg(0x1000);
        Assert.That(Access(tables.Vcpu, 0x1000).Value, Is.EqualTo(0x55UL), "the stale TLB entry outlives INVLPG");
    }

    [Test]
    public void A_cr3_load_syncs_every_unsync_page_and_flushes_the_pcid()
    {
        var (env, tables) = Mapped();
        using var _ = env;
        tables.Map(0x1000, 6);
        tables.Map(0x1001, 5);
        tables.Load();
        Assert.Multiple(() =>
        {
            Assert.That(Access(tables.Vcpu, 0x1000).Value, Is.EqualTo(0x66UL), "first page swapped");
            Assert.That(Access(tables.Vcpu, 0x1001).Value, Is.EqualTo(0x55UL), "second page swapped");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }

    [Test]
    public void Switching_between_two_address_spaces_keeps_their_roots_cached_and_their_translations_apart()
    {
        var (env, first) = Mapped();
        using var _ = env;
        var vcpu = first.Vcpu;
        var second = new GuestTables(vcpu, firstFrame: TestVm.GuestPages - 64);
        second.Map(0x1000, 6);
        second.Load(pcid: 2);
        var firstRoot = env.Vm.Shadow!.Pages.Find(first.Cr3, new ShadowRole(4, true));
        Assert.That(Access(vcpu, 0x1000).Value, Is.EqualTo(0x66UL), "the same address means gfn 6 in the second process");
        var allocated = env.Vm.Shadow!.Stats.RootsAllocated;
        first.Load(pcid: 1);
        Assert.Multiple(() =>
        {
            Assert.That(Access(vcpu, 0x1000).Value, Is.EqualTo(0x55UL), "and gfn 5 in the first");
            Assert.That(vcpu.CurrentRoot, Is.SameAs(firstRoot), "the first root came back from the cache");
            Assert.That(env.Vm.Shadow!.Stats.RootsAllocated, Is.EqualTo(allocated), "no new root");
            Assert.That(firstRoot!.RootCount, Is.EqualTo(1), "one root reference, held by the vCPU");
        });
    }

    [Test]
    public void A_release_zaps_every_shadow_page_after_the_flush()
    {
        var (env, tables) = Mapped();
        var root = tables.Vcpu.CurrentRoot!;
        env.Mm.Exit();
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Shadow!.Pages.Count, Is.Zero, "kvm_mmu_zap_all");
            Assert.That(root.Invalid, Is.True, "the root is invalid");
            Assert.That(root.Freed, Is.False, "but not freed while the vCPU holds it");
            Assert.That(env.Vm.Shadow!.Rmap.Count, Is.Zero, "no leaf SPTE remains");
        });
        env.Dispose();
    }
}
