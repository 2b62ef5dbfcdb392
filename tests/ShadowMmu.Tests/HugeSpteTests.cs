using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.PageTables;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>
/// 2 MiB SPTEs over host transparent huge pages: installed where the host maps a PMD leaf, zapped whole by any
/// invalidation that touches part of them (P16), and never outliving the host's PMD (P15). Each protection has its
/// broken variant, caught here.
/// </summary>
[TestFixture]
public sealed class HugeSpteTests
{
    private const ulong Huge = PteTable.Entries;

    private static TestVm ThpVm(ShadowMutations mutations = ShadowMutations.None, HostMutations host = HostMutations.None,
        NotifierProfile profile = NotifierProfile.Modern) =>
        new(mutations, profile, hostMutations: host, beforeVm: mm => mm.Thp = ThpMode.Always);

    private static void Touch(TestVm env, params ulong[] gfns)
    {
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        foreach (var gfn in gfns)
        {
            Assert.That(vcpu.Access(new Gfn(gfn), write: true, 0x100 + gfn).IsOk, Is.True, $"guest write to gfn {gfn}");
        }

        vcpu.ExitGuest();
    }

    [Test]
    public void A_fault_over_a_host_pmd_leaf_installs_one_2MiB_spte_that_serves_the_whole_range()
    {
        using var env = ThpVm();
        Touch(env, 3, 100, 511);
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.HugeSptesInstalled, Is.EqualTo(1), "one 2 MiB SPTE");
            Assert.That(env.Vm.CountPresentSptes(), Is.EqualTo(1), "and no 4 KiB ones");
            Assert.That(env.Vm.Vcpus[0].Stats.Snapshot().Faults, Is.EqualTo(1), "the later writes hit it without a fault");
            Assert.That(env.Mm.HostRead(env.HvaOf(100), out var word) == HostStatus.Ok && word == 0x100UL + 100, Is.True,
                "the write reached the host subpage");
            Assert.That(env.Vm.Table.LeafCount, Is.EqualTo(1), "the leaf table above it is the only shadow table");
        });
    }

    [Test]
    public void Thp_never_keeps_4KiB_sptes()
    {
        using var env = new TestVm();
        Touch(env, 3, 100);
        Assert.That(env.Vm.HugeSptesInstalled, Is.Zero, "no host PMD leaf, no huge SPTE");
        Assert.That(env.Vm.CountPresentSptes(), Is.EqualTo(2), "two small ones");
    }

    [Test]
    public void A_partial_madvise_dontneed_zaps_the_whole_huge_spte_and_the_next_fault_maps_4KiB()
    {
        using var env = ThpVm();
        Touch(env, 3);
        Assert.That(env.Mm.MadviseDontNeed(env.HvaOf(7), Hva.PageSize), Is.EqualTo(HostStatus.Ok));
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.CountHugeSptes(), Is.Zero, "the huge SPTE is gone");
            Assert.That(env.Vm.CheckAfterOperation(env.HvaOf(0), env.HvaOf(Huge)), Is.Zero, "nothing stale");
        });
        Touch(env, 3);
        Assert.That(env.Vm.CountHugeSptes(), Is.Zero, "the host maps PTEs now: host_pfn_mapping_level says 4K");
        Assert.That(env.Vm.Violations.Total, Is.Zero, "no violation");
    }

    [Test]
    public void The_split_without_notify_variant_leaves_a_huge_spte_over_host_ptes_and_the_check_reports_it()
    {
        using var env = ThpVm(host: HostMutations.ThpSplitNoNotify);
        Touch(env, 3);
        Assert.That(env.Mm.MadviseHugePage(env.HvaOf(5), Hva.PageSize, huge: false), Is.EqualTo(HostStatus.Ok));
        Assert.Multiple(() =>
        {
            Assert.That(env.Mm.HugePmdOf(env.HvaOf(0)), Is.Zero, "the host split its PMD (a VMA edge at an unaligned address)");
            Assert.That(env.Vm.CheckAfterOperation(env.HvaOf(0), env.HvaOf(Huge)), Is.EqualTo(1), "P15: a huge SPTE over host PTEs");
            Assert.That(env.Vm.Violations.Count(ShadowViolations.HugeSpteWithoutHostPmd), Is.EqualTo(1), "reported as such");
        });
    }

    [Test]
    public void The_intact_split_zaps_the_huge_spte_first()
    {
        using var env = ThpVm();
        Touch(env, 3);
        Assert.That(env.Mm.MadviseHugePage(env.HvaOf(5), Hva.PageSize, huge: false), Is.EqualTo(HostStatus.Ok));
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.CountHugeSptes(), Is.Zero, "the 2 MiB range zapped it");
            Assert.That(env.Vm.CheckAfterOperation(env.HvaOf(0), env.HvaOf(Huge)), Is.Zero, "clean");
            Assert.That(env.Vm.Violations.Total, Is.Zero, "no violation");
        });
    }

    [TestCase(ShadowMutations.None, 0)]
    [TestCase(ShadowMutations.HugeSptePartialZap, 1)]
    public void A_legacy_single_address_invalidate_of_a_migrated_huge_page_zaps_the_huge_spte_only_if_the_zap_rounds(
        ShadowMutations mutations, int staleAfter)
    {
        // The legacy unmap-one site names one address for the whole 2 MiB; a KVM that rounds the gfn to the huge entry's
        // level still drops all of it, one that zaps only the 4 KiB piece keeps mapping the freed frames.
        using var env = ThpVm(mutations, profile: NotifierProfile.Legacy2008);
        Touch(env, 3);
        var oldHead = Pte.PfnOf(env.Mm.HugePmdOf(env.HvaOf(0)));
        using var manager = new HostMemoryManager(env.Host);
        Assert.That(manager.MigratePage(env.Mm, env.HvaOf(9)), Is.EqualTo(HostMemory.Migration.MigrationStatus.Migrated));
        Assert.Multiple(() =>
        {
            Assert.That(Pte.PfnOf(env.Mm.HugePmdOf(env.HvaOf(0))), Is.Not.EqualTo(oldHead), "the huge page moved whole");
            Assert.That(env.Host.Read(HostCounter.ThpMigrations), Is.EqualTo(1), "as one THP migration");
            Assert.That(env.Vm.CountHugeSptes(), Is.EqualTo(staleAfter), staleAfter == 0 ? "the rounding zap removed it" : "the 4 KiB zap left it");
        });
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        _ = vcpu.Access(new Gfn(200), write: false, 0);
        vcpu.ExitGuest();
        Assert.That(env.Vm.Violations.Count(HostMemory.Diagnostics.ViolationKind.UseAfterFree), staleAfter == 0 ? Is.Zero : Is.GreaterThan(0),
            "a stale huge SPTE reads a freed frame");
    }
}
