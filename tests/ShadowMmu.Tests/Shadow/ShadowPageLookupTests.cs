using Hypervisor.ShadowMmu.Shadow;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;
using static Hypervisor.ShadowMmu.Tests.Shadow.GuestAccess;

namespace Hypervisor.ShadowMmu.Tests.Shadow;

/// <summary>Shadow pages keyed by (gfn, role): built by <c>FNAME(fetch)</c>, found again, split by role.</summary>
[TestFixture]
[CancelAfter(20_000)]
public class ShadowPageLookupTests
{
    [Test]
    public void A_fault_builds_one_shadow_page_per_guest_table_on_the_path()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        tables.Map(0x1000, 5);
        tables.Load();
        Assert.That(Read(vcpu, 0x1000).IsOk, Is.True, "the access completes");
        var pages = env.Vm.Shadow!.Pages;
        Assert.Multiple(() =>
        {
            Assert.That(pages.Count, Is.EqualTo(4), "root, PDPT, PD and PT shadows");
            for (var level = 1; level <= 4; level++)
            {
                Assert.That(pages.Find(tables.TableFor(0x1000, level), new ShadowRole(level, true)), Is.Not.Null,
                    $"the level-{level} table is shadowed under its (gfn, role)");
            }

            Assert.That(vcpu.CurrentRoot, Is.SameAs(pages.Find(tables.Cr3, new ShadowRole(4, true))), "the vCPU walks from the root page");
            Assert.That(vcpu.CurrentRoot!.RootCount, Is.EqualTo(1), "the root holds one root reference");
        });
    }

    [Test]
    public void A_neighbouring_page_in_the_same_guest_table_reuses_its_shadow_pages()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        tables.Map(0x1000, 5);
        tables.Map(0x1001, 6);
        tables.Load();
        Read(vcpu, 0x1000);
        var created = env.Vm.Shadow!.Stats.PagesCreated;
        Read(vcpu, 0x1001);
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Shadow!.Stats.PagesCreated, Is.EqualTo(created), "found by (gfn, role), not created again");
            Assert.That(env.Vm.Shadow!.Rmap.Count, Is.EqualTo(2), "two leaf SPTEs");
        });
    }

    [Test]
    public void One_guest_table_reached_through_a_writable_and_a_read_only_entry_has_two_shadow_pages()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        tables.Map(0x1000, 5);
        var pt = tables.TableFor(0x1000, 1);
        // A second PD entry points at the same leaf table, read-only: the same table under another role.
        var pd = tables.TableFor(0x1000, 2);
        vcpu.WriteGuestPte(pd, Gpte.IndexOf(0x1000, 2) + 1, Gpte.Make(pt, writable: false));
        tables.Load();
        var alias = 0x1000UL + Gpte.Entries;
        Assert.That(Read(vcpu, 0x1000).IsOk && Read(vcpu, alias).IsOk, Is.True, "both reads complete");
        vcpu.EnterGuest();
        var write = vcpu.AccessVirtual(alias, write: true, 1);
        vcpu.ExitGuest();
        var pages = env.Vm.Shadow!.Pages;
        Assert.Multiple(() =>
        {
            Assert.That(pages.Find(pt, new ShadowRole(1, true)), Is.Not.Null, "the writable-role shadow");
            Assert.That(pages.Find(pt, new ShadowRole(1, false)), Is.Not.Null, "the read-only-role shadow");
            Assert.That(pages.OfGfn(pt), Has.Count.EqualTo(2), "two shadow pages for one guest table");
            Assert.That(env.Vm.Shadow!.Rmap.CountOf(5), Is.EqualTo(2), "gfn 5 is mapped by one SPTE in each");
            Assert.That(write.Status, Is.EqualTo(AccessStatus.GuestPageFault), "the read-only path refuses writes");
        });
    }

    [Test]
    public void Spte_of_a_read_only_guest_mapping_is_never_writable()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        tables.Map(0x1000, 5, writable: false);
        tables.Load();
        Read(vcpu, 0x1000);
        var leaf = env.Vm.Shadow!.Pages.Find(tables.TableFor(0x1000, 1), new ShadowRole(1, true))!;
        var spte = leaf.Spt[Gpte.IndexOf(0x1000, 1)];
        Assert.Multiple(() =>
        {
            Assert.That(Spte.IsPresent(spte), Is.True, "mapped");
            Assert.That(Spte.IsWritable(spte), Is.False, "W only where the guest allows it");
            Assert.That(Spte.PfnOf(spte), Is.EqualTo(env.HostPfn(5)), "the host frame behind gfn 5");
        });
    }
}
