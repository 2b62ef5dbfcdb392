using Hypervisor.HostMemory;
using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>
/// A guest store into a frame the host no longer lets that address write is a write-to-write-protected violation;
/// a correct shadow MMU never makes one, whatever the host did to the frame before.
/// </summary>
[TestFixture]
[CancelAfter(20_000)]
public class WriteWatchTests
{
    private const ulong Gfn = 5;

    private static long WriteViolations(TestVm env) =>
        env.Host.Violations.Count(ShadowViolations.WriteToWriteProtected);

    [TestCase(ShadowMutations.NoTlbFlush)]
    [TestCase(ShadowMutations.NoZap)]
    public void A_store_through_a_stale_writable_entry_after_mprotect_is_reported(ShadowMutations mutation)
    {
        using var env = new TestVm(mutation);
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        Assert.That(vcpu.Access(new Gfn(Gfn), write: true, 1).IsOk, Is.True, "the page is mapped writable and cached");
        vcpu.ExitGuest();

        Assert.That(env.Mm.Mprotect(env.HvaOf(Gfn), Hva.PageSize, Protection.Read), Is.EqualTo(HostStatus.Ok), "mprotect to read-only");
        vcpu.EnterGuest();
        vcpu.Access(new Gfn(Gfn), write: true, 2);
        vcpu.ExitGuest();

        Assert.That(WriteViolations(env), Is.EqualTo(1), $"with {mutation} the store lands in a page the host maps read-only");
    }

    [Test]
    public void The_intact_protocol_stores_after_mprotect_only_by_faulting_again()
    {
        using var env = new TestVm();
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        Assert.That(vcpu.Access(new Gfn(Gfn), write: true, 1).IsOk, Is.True, "the page is mapped writable and cached");
        vcpu.ExitGuest();
        Assert.That(env.Host.Memory.IsWriteWatched(env.HostPfn(Gfn)), Is.False, "a frame nobody downgraded is not watched");

        env.Mm.Mprotect(env.HvaOf(Gfn), Hva.PageSize, Protection.Read);
        Assert.That(env.Host.Memory.IsWriteWatched(env.HostPfn(Gfn)), Is.True, "mprotect's start watched the frame");
        vcpu.EnterGuest();
        var denied = vcpu.Access(new Gfn(Gfn), write: true, 2);
        vcpu.ExitGuest();
        Assert.That(denied.IsOk, Is.False, "the store faults and the host refuses it");

        env.Mm.Mprotect(env.HvaOf(Gfn), Hva.PageSize, Protection.ReadWrite);
        vcpu.EnterGuest();
        var stored = vcpu.Access(new Gfn(Gfn), write: true, 3);
        var read = vcpu.Access(new Gfn(Gfn), write: false, 0);
        vcpu.ExitGuest();
        Assert.Multiple(() =>
        {
            Assert.That(stored.IsOk, Is.True, "once writable again, the store faults the page writable and lands");
            Assert.That(read.Value, Is.EqualTo(3UL), "and is read back");
            Assert.That(env.Host.Memory.IsWriteWatched(env.HostPfn(Gfn)), Is.False, "do_wp_page's reuse unwatched the frame");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation on the intact protocol");
        });
    }

    [Test]
    public void A_range_start_watches_exactly_the_frames_it_maps_writable()
    {
        using var env = new TestVm();
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        for (var g = 0UL; g < TestVm.GuestPages; g++)
        {
            vcpu.Access(new Gfn(g), write: g % 7 != 0, 0); // every seventh page only read: the zero page, read-only
        }

        vcpu.ExitGuest();
        const ulong first = 100, end = 700; // crosses a page-table boundary (512 entries)
        env.Mm.Mprotect(env.HvaOf(first), (end - first) * Hva.PageSize, Protection.Read);
        var wrong = Enumerable.Range(0, (int)TestVm.GuestPages).Select(i => (ulong)i)
            .Where(g => env.Host.Memory.IsWriteWatched(env.HostPfn(g)) != (g >= first && g < end && g % 7 != 0))
            .ToList();
        Assert.That(wrong, Is.Empty, "watched: the written pages of the range, nothing outside it, never the zero page");
    }

    [Test]
    public void A_store_after_fork_copies_and_is_not_reported()
    {
        using var env = new TestVm();
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        vcpu.Access(new Gfn(Gfn), write: true, 1);
        vcpu.ExitGuest();
        var old = env.HostPfn(Gfn);

        var child = env.Mm.Fork("child");
        vcpu.EnterGuest();
        var stored = vcpu.Access(new Gfn(Gfn), write: true, 2);
        vcpu.ExitGuest();
        child.Exit();
        Assert.Multiple(() =>
        {
            Assert.That(stored.IsOk, Is.True, "the store breaks COW");
            Assert.That(env.HostPfn(Gfn), Is.Not.EqualTo(old), "into a fresh frame");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation on the intact protocol");
        });
    }
}
