using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vcpus;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>MMIO exits, read-only memslots and both notifier profiles.</summary>
[TestFixture]
[CancelAfter(20_000)]
public class MemslotTests
{
    [Test]
    public void An_access_outside_every_memslot_is_an_mmio_exit()
    {
        using var env = new TestVm();
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        var result = vcpu.Access(new Gfn(TestVm.GuestPages + 5), write: false, 0);
        vcpu.ExitGuest();
        Assert.Multiple(() =>
        {
            Assert.That(result.Status, Is.EqualTo(AccessStatus.Mmio), "no memslot: MMIO exit");
            Assert.That(vcpu.Stats.Snapshot().MmioExits, Is.EqualTo(1), "counted");
            Assert.That(vcpu.Stats.Snapshot().GupReferencesTaken, Is.Zero, "no host page was touched");
        });
    }

    [Test]
    public void A_read_only_memslot_serves_reads_and_turns_writes_into_mmio_exits()
    {
        using var env = new TestVm(readOnlySlot: true);
        Assert.That(env.Mm.HostWrite(env.HvaOf(1), 1234), Is.EqualTo(HostMemory.HostStatus.Ok), "the VMM fills the ROM");
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        var read = vcpu.Access(new Gfn(1), write: false, 0);
        var write = vcpu.Access(new Gfn(1), write: true, 99);
        vcpu.ExitGuest();
        Assert.Multiple(() =>
        {
            Assert.That(read.Value, Is.EqualTo(1234UL), "reads see the contents");
            Assert.That(Spte.IsWritable(env.Vm.Table.Read(1)), Is.False, "the SPTE of a read-only slot is never writable");
            Assert.That(write.Status, Is.EqualTo(AccessStatus.Mmio), "writes exit to the VMM");
        });
        env.Mm.HostRead(env.HvaOf(1), out var after);
        Assert.That(after, Is.EqualTo(1234UL), "the write did not reach memory");
    }

    [TestCase(NotifierProfile.Modern)]
    [TestCase(NotifierProfile.Legacy2008)]
    public void A_guest_write_after_fork_copies_the_page_and_the_child_keeps_the_old_value(NotifierProfile profile)
    {
        using var env = new TestVm(profile: profile);
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        vcpu.Access(new Gfn(4), write: true, 100);
        vcpu.ExitGuest();
        var child = env.Mm.Fork("child");
        vcpu.EnterGuest();
        var write = vcpu.Access(new Gfn(4), write: true, 200);
        var read = vcpu.Access(new Gfn(4), write: false, 0);
        vcpu.ExitGuest();
        child.HostRead(env.HvaOf(4), out var childValue);
        var stats = env.Vm.Stats.Snapshot();
        Assert.Multiple(() =>
        {
            Assert.That(write.IsOk && read.Value == 200, Is.True, "the guest sees its own write");
            Assert.That(childValue, Is.EqualTo(100UL), "the fork child keeps the value at fork time");
            Assert.That(env.Host.Read(HostMemory.HostCounter.CowFaults), Is.EqualTo(1), "one COW break");
            Assert.That(stats.InvalidatePages, Is.EqualTo(profile == NotifierProfile.Legacy2008 ? 1 : 0), "legacy COW uses invalidate_page");
            Assert.That(stats.InvalidationsByCause[InvalidationCause.CopyOnWrite], Is.EqualTo(1), "one COW invalidation either way");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
        child.Exit();
    }
}
