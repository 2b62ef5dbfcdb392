using Hypervisor.ShadowMmu.Shadow;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests.Shadow;

/// <summary><c>FNAME(walk_addr)</c>: the guest walk translates through four levels and fails the way a #PF says.</summary>
[TestFixture]
[CancelAfter(20_000)]
public class GuestWalkTests
{
    private const ulong Gvpn = 0x12345;

    [Test]
    public void A_walk_reads_every_level_and_translates_to_the_leaf_frame()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var tables = new GuestTables(env.Vm.Vcpus[0]);
        tables.Map(Gvpn, 42);
        var walk = GuestWalker.Walk(env.Vm.Shadow!.Tables, tables.Cr3, Gvpn, write: true);
        Assert.Multiple(() =>
        {
            Assert.That(walk.Fault, Is.EqualTo(GuestFaultKind.None), "the path is complete and writable");
            Assert.That(walk.Gfn, Is.EqualTo(42UL), "the leaf gpte's frame");
            Assert.That(walk.TableGfnAt(4), Is.EqualTo(tables.Cr3), "the walk starts at CR3");
            Assert.That(walk.TableGfnAt(1), Is.EqualTo(tables.TableFor(Gvpn, 1)), "and ends at the leaf table");
            Assert.That(walk.Writable, Is.True, "every level allows writes");
        });
    }

    [TestCase(4)]
    [TestCase(3)]
    [TestCase(2)]
    [TestCase(1)]
    public void A_missing_entry_at_any_level_is_a_not_present_fault_at_that_level(int level)
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var tables = new GuestTables(env.Vm.Vcpus[0]);
        tables.Map(Gvpn, 42);
        var table = tables.TableFor(Gvpn, level);
        env.Vm.Vcpus[0].WriteGuestPte(table, Gpte.IndexOf(Gvpn, level), 0);
        var walk = GuestWalker.Walk(env.Vm.Shadow!.Tables, tables.Cr3, Gvpn, write: false);
        Assert.Multiple(() =>
        {
            Assert.That(walk.Fault, Is.EqualTo(GuestFaultKind.NotPresent), "a cleared gpte");
            Assert.That(walk.FaultLevel, Is.EqualTo(level), "the level that had no entry");
        });
    }

    [Test]
    public void A_read_only_upper_entry_makes_the_leaf_read_only_and_a_write_a_protection_fault()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var tables = new GuestTables(env.Vm.Vcpus[0]);
        tables.Map(Gvpn, 42, writable: true, upperWritable: false);
        var read = GuestWalker.Walk(env.Vm.Shadow!.Tables, tables.Cr3, Gvpn, write: false);
        var write = GuestWalker.Walk(env.Vm.Shadow!.Tables, tables.Cr3, Gvpn, write: true);
        Assert.Multiple(() =>
        {
            Assert.That(read.Fault, Is.EqualTo(GuestFaultKind.None), "reads are allowed");
            Assert.That(read.Writable, Is.False, "pte_access is the AND of every level's W");
            Assert.That(read.WritableFrom(4), Is.False, "the read-only PML4 entry already forbids writes below it");
            Assert.That(write.Fault, Is.EqualTo(GuestFaultKind.WriteProtect), "a write is a protection fault");
        });
    }

    [Test]
    public void The_vcpu_turns_a_failed_walk_into_a_guest_page_fault_and_installs_nothing()
    {
        using var env = new TestVm(mmu: MmuMode.Shadow);
        var vcpu = env.Vm.Vcpus[0];
        var tables = new GuestTables(vcpu);
        tables.Map(Gvpn, 42, writable: false);
        tables.Load();
        vcpu.EnterGuest();
        var unmapped = vcpu.AccessVirtual(Gvpn + 1, write: false, 0);
        var readOnly = vcpu.AccessVirtual(Gvpn, write: true, 7);
        var read = vcpu.AccessVirtual(Gvpn, write: false, 0);
        vcpu.ExitGuest();
        Assert.Multiple(() =>
        {
            Assert.That(unmapped.Status, Is.EqualTo(AccessStatus.GuestPageFault), "no guest mapping: #PF");
            Assert.That(readOnly.Status, Is.EqualTo(AccessStatus.GuestPageFault), "a write through a read-only mapping: #PF, never a silent write");
            Assert.That(read.Status, Is.EqualTo(AccessStatus.Ok), "reads through the read-only mapping work");
            Assert.That(env.Vm.Shadow!.Stats.GuestPageFaults, Is.EqualTo(2), "two injected faults");
            Assert.That(env.Vm.Shadow!.Rmap.Count, Is.EqualTo(1), "one leaf SPTE, for the read");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }
}
