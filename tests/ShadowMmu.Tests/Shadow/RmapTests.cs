using Hypervisor.HostMemory;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;
using static Hypervisor.ShadowMmu.Tests.Shadow.GuestAccess;

namespace Hypervisor.ShadowMmu.Tests.Shadow;

/// <summary>The reverse map: every leaf SPTE of a gfn, across aliases and address spaces, found by the notifier.</summary>
[TestFixture]
[CancelAfter(20_000)]
public class RmapTests
{
    /// <summary>Two guest virtual pages of one process and one of a second process map gfn 5.</summary>
    private static (TestVm Env, GuestTables First, GuestTables Second) ThreeAliases(ShadowMutations mutations = ShadowMutations.None)
    {
        var env = new TestVm(mutations, mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var first = new GuestTables(vcpu);
        first.Map(0x1000, 5);
        first.Map(0x2345, 5);
        var second = new GuestTables(vcpu, firstFrame: TestVm.GuestPages - 64);
        second.Map(0x7000, 5);
        second.Load(pcid: 2);
        Assert.That(Access(vcpu, 0x7000, write: true, 0xAB).IsOk, Is.True, "the second process writes gfn 5");
        first.Load(pcid: 1);
        Assert.That(Access(vcpu, 0x1000).Value, Is.EqualTo(0xABUL), "the first sees it through one alias");
        Assert.That(Access(vcpu, 0x2345).Value, Is.EqualTo(0xABUL), "and through the other");
        return (env, first, second);
    }

    [Test]
    public void Rmap_add_records_every_alias_in_every_address_space()
    {
        var (env, _, _) = ThreeAliases();
        using var _env = env;
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Shadow!.Rmap.CountOf(5), Is.EqualTo(3), "three leaf SPTEs map gfn 5");
            Assert.That(env.Vm.CountPresentSptes(), Is.EqualTo(3), "and nothing else is mapped");
        });
    }

    [Test]
    public void A_host_invalidation_zaps_every_alias_and_empties_the_list()
    {
        var (env, first, _) = ThreeAliases();
        using var _env = env;
        var vcpu = first.Vcpu;
        Assert.That(env.Mm.MadviseDontNeed(env.HvaOf(5), Hva.PageSize), Is.EqualTo(HostStatus.Ok), "the VMM drops the page");
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Shadow!.Rmap.CountOf(5), Is.Zero, "kvm_zap_rmap emptied the chain");
            Assert.That(env.Vm.CountPresentSptes(), Is.Zero, "no SPTE maps the dropped frame");
            Assert.That(Access(vcpu, 0x2345).Value, Is.Zero, "the alias reads the new zero page, not the freed frame");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }

    [Test]
    public void Rmap_remove_follows_a_guest_remap_so_the_old_gfn_keeps_no_entry()
    {
        var (env, first, _) = ThreeAliases();
        using var _env = env;
        var vcpu = first.Vcpu;
        first.Map(0x1000, 6);
        vcpu.Invlpg(0x1000);
        Access(vcpu, 0x1000);
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Shadow!.Rmap.CountOf(5), Is.EqualTo(2), "the remapped alias left gfn 5's list");
            Assert.That(env.Vm.Shadow!.Rmap.CountOf(6), Is.EqualTo(1), "and joined gfn 6's");
        });
    }

    [Test]
    public void With_the_one_alias_mutation_an_invalidation_leaves_aliases_mapping_the_freed_frame()
    {
        var (env, first, _) = ThreeAliases(ShadowMutations.RmapZapsOneAlias);
        using var _env = env;
        var old = env.HostPfn(5);
        Assert.That(env.Mm.MadviseDontNeed(env.HvaOf(5), Hva.PageSize), Is.EqualTo(HostStatus.Ok), "the VMM drops the page");
        var vcpu = first.Vcpu;
        Assert.That(env.Vm.Shadow!.Rmap.CountOf(5), Is.EqualTo(2), "two aliases survived the zap");
        var results = new[] { Access(vcpu, 0x1000), Access(vcpu, 0x2345) };
        Assert.Multiple(() =>
        {
            Assert.That(results.Select(r => r.Pfn), Has.Some.EqualTo(old), "an alias still reaches the freed frame");
            Assert.That(env.Host.Violations.Total, Is.GreaterThan(0), "the host's use-after-free check sees it");
        });
    }

    [Test]
    public void Leaf_sptes_of_a_shadow_page_cut_off_from_its_root_are_still_reached_through_the_reverse_map()
    {
        var (env, first, _) = ThreeAliases();
        using var _env = env;
        var vcpu = first.Vcpu;
        // The guest reuses the first process's PD frame as a fresh table: the write flood zaps its shadow page, which
        // unlinks the leaf shadow page below it but leaves that page's SPTEs in place (as kvm_mmu_prepare_zap_page does).
        vcpu.ClearGuestTable(first.TableFor(0x1000, 2));
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Shadow!.Stats.PagesZapped, Is.GreaterThanOrEqualTo(1), "the PD shadow was zapped");
            Assert.That(env.Vm.Shadow!.Rmap.CountOf(5), Is.EqualTo(3), "the orphaned leaf page still maps gfn 5 twice");
        });

        Assert.That(env.Mm.MadviseDontNeed(env.HvaOf(5), Hva.PageSize), Is.EqualTo(HostStatus.Ok), "the VMM drops the page");
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Shadow!.Rmap.CountOf(5), Is.Zero, "the notifier reached the unreachable SPTEs too");
            Assert.That(env.Vm.CountPresentSptes(), Is.Zero, "nothing maps the dropped frame");
        });
    }
}
