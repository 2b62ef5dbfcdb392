using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Physical;
using Hypervisor.ShadowMmu.Vcpus;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>
/// A notifier re-registration racing the VMM's last exit. <c>mmu_notifier_register</c> requires <c>mm_users</c> &gt; 0
/// and holds a user across the registration, so the exit either comes first (the registration fails) or releases
/// the new notifier too (perhaps from the registration's own <c>mmput</c>); and a re-attach whose notifier was
/// released must leave the VM released. Each interleaving is forced with a parked thread.
/// </summary>
[TestFixture]
[CancelAfter(30_000)]
public class ReattachExitTests
{
    private const ulong Gfn = 5;

    /// <summary>The exit is parked inside its release (users already 0); the VMM re-attaches meanwhile.</summary>
    private static (bool Reattached, AccessResult Access, Pfn Mapped) ReattachDuringExitsRelease(TestVm env, GateNotifier gate)
    {
        Assert.That(env.Mm.HostWrite(env.HvaOf(Gfn), 0x5555), Is.EqualTo(HostStatus.Ok), "the VMM populates the page");
        var mapped = env.HostPfn(Gfn);
        env.Vm.DetachNotifier();
        gate.CloseGate();
        var exit = new Thread(env.Mm.Exit) { Name = "vmm-exit", IsBackground = true };
        exit.Start();
        Assert.That(gate.Parked.Wait(TimeSpan.FromSeconds(10)), Is.True, "the exit parks inside its release");
        Assert.That(env.Mm.Users, Is.Zero, "the last user is gone: the release is running");

        var reattached = env.Vm.ReattachNotifier();
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        var access = reattached ? vcpu.Access(new Gfn(Gfn), write: false, 0) : default;
        vcpu.ExitGuest();

        gate.OpenGate();
        Assert.That(exit.Join(10_000), Is.True, "the exit finishes");
        if (reattached)
        {
            // The guest reads its page again after the exit freed it.
            vcpu.EnterGuest();
            access = vcpu.Access(new Gfn(Gfn), write: false, 0);
            vcpu.ExitGuest();
        }

        return (reattached, access, mapped);
    }

    [Test]
    public void A_registration_during_the_last_exits_release_fails_and_the_vm_stays_released()
    {
        var gate = new GateNotifier(parkInRelease: true);
        using var env = new TestVm(beforeVm: mm => mm.RegisterNotifier(gate));
        var (reattached, _, _) = ReattachDuringExitsRelease(env, gate);
        Assert.Multiple(() =>
        {
            Assert.That(reattached, Is.False, "mmget_not_zero fails once mm_users reached zero");
            Assert.That(env.Vm.Released, Is.True, "the VM stays released");
            Assert.That(env.Vm.CountPresentSptes(), Is.Zero, "no SPTE outlives the exit");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }

    [Test]
    public void Without_the_pin_a_registration_during_exit_is_never_released_and_the_guest_reads_freed_memory()
    {
        var gate = new GateNotifier(parkInRelease: true);
        using var env = new TestVm(beforeVm: mm => mm.RegisterNotifier(gate), hostMutations: HostMutations.RegisterWithoutPin);
        var (reattached, access, mapped) = ReattachDuringExitsRelease(env, gate);
        Assert.Multiple(() =>
        {
            Assert.That(reattached, Is.True, "the unpinned registration slipped in after the release snapshot");
            Assert.That(env.Host.Violations.Count(ViolationKind.NotifierProtocol), Is.EqualTo(1), "the registration with no users left is counted");
            Assert.That(env.Host.Memory.IsFree(mapped), Is.True, "the exit freed the page");
            Assert.That(access.Value, Is.EqualTo(PhysicalMemory.Poison), "the never-released VM kept mapping it: the guest reads the poison");
            Assert.That(env.Host.Violations.Count(ViolationKind.UseAfterFree), Is.GreaterThan(0), "and the use-after-free is counted");
        });
    }

    [Test]
    public void A_reattach_whose_registration_ran_the_exit_leaves_the_vm_released()
    {
        using var env = new TestVm();
        env.Vm.DetachNotifier();
        bool? reattached = null;
        Thread reattach;
        using (env.Mm.EnterRead())
        {
            // The registration pins a user, then waits for the mmap lock this test holds.
            reattach = new Thread(() => reattached = env.Vm.ReattachNotifier()) { Name = "vmm-reattach", IsBackground = true };
            reattach.Start();
            var pinned = SpinWait.SpinUntil(() => env.Mm.Users == 2, TimeSpan.FromSeconds(5));
            Assert.That(pinned, Is.True, "mmu_notifier_register holds a user of the address space while it registers");

            // The VMM's own exit drops its user: not the last one, so nothing is torn down yet.
            env.Mm.Exit();
            Assert.That(env.Mm.IsDead, Is.False, "the registration's pin keeps the mappings alive");
        }

        Assert.That(reattach.Join(10_000), Is.True, "the re-attach finishes");
        Assert.Multiple(() =>
        {
            Assert.That(env.Mm.IsDead, Is.True, "the registration's mmput was the last one and ran the exit");
            Assert.That(env.Vm.Stats.Snapshot().Releases, Is.EqualTo(2), "the exit released the new notifier (the detach released the old one)");
            Assert.That(reattached, Is.False, "the re-attach reports the address space gone");
            Assert.That(env.Vm.Released, Is.True, "a re-attach never switches a released VM back on");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }
}
