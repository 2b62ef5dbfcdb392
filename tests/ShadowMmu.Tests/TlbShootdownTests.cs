using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>The remote TLB flush waits for vCPUs in guest mode, and a non-blockable start refuses to wait.</summary>
[TestFixture]
[CancelAfter(20_000)]
public class TlbShootdownTests
{
    private const ulong Gfn = 3;

    private static void Populate(TestVm env, int vcpuIndex)
    {
        var vcpu = env.Vm.Vcpus[vcpuIndex];
        vcpu.EnterGuest();
        Assert.That(vcpu.Access(new Gfn(Gfn), write: true, 5).IsOk, Is.True, "the page is mapped and cached in the TLB");
        vcpu.ExitGuest();
    }

    [Test]
    public void An_invalidation_start_does_not_return_until_a_vcpu_in_guest_mode_acknowledged()
    {
        using var env = new TestVm(vcpus: 2);
        Populate(env, 0);
        using var parked = new ParkedVcpu(env.Vm.Vcpus[0], new Gfn(Gfn));
        Assert.That(parked.InGuest.Wait(5000), Is.True, "the vCPU is in guest mode with the entry in its TLB");

        var munmap = Task.Run(() => env.Mm.MadviseDontNeed(env.HvaOf(Gfn), Hva.PageSize));
        Assert.That(munmap.Wait(300), Is.False, "the shootdown waits for the vCPU that is in guest mode");
        parked.Release();
        Assert.That(munmap.Wait(10_000), Is.True, "once the vCPU acknowledged, the invalidation completes");
        Assert.That(parked.Join(), Is.True, "the vCPU finishes its access");
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Vcpus[0].Stats.Snapshot().TlbFlushesHandled, Is.GreaterThanOrEqualTo(1), "the vCPU flushed its TLB");
            Assert.That(parked.Result.Value, Is.Zero, "after DONTNEED the guest reads the new zero page, not the old data");
            Assert.That(env.Vm.Stats.Snapshot().VcpusFlushed, Is.GreaterThanOrEqualTo(1), "the flush counted the vCPU it waited for");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }

    [Test]
    [CancelAfter(40_000)]
    public void A_vcpu_running_only_on_tlb_hits_acknowledges_every_shootdown(CancellationToken token)
    {
        // vCPU 0 spins on one cached page in guest mode and never faults, so it changes mode only to take requests.
        // The test thread maps another page through vCPU 1 and drops it again and again: each drop shoots down
        // vCPU 0. A shootdown that misses an acknowledgement (the vCPU took the request just before the flusher
        // looked at its mode) would wait for a mode change that never comes.
        using var env = new TestVm(vcpus: 2);
        var spinning = new ManualResetEventSlim(false);
        var stop = false;
        var spinner = new Thread(() =>
        {
            var vcpu = env.Vm.Vcpus[0];
            vcpu.EnterGuest();
            vcpu.Access(new Gfn(1), write: true, 1);
            spinning.Set();
            while (!Volatile.Read(ref stop))
            {
                vcpu.Access(new Gfn(1), write: false, 0);
            }

            vcpu.ExitGuest();
        })
        { Name = "vcpu-0-spinning", IsBackground = true };
        spinner.Start();
        Assert.That(spinning.Wait(5000, token), Is.True, "vCPU 0 is spinning in guest mode");

        var mapper = env.Vm.Vcpus[1];
        var rounds = 0;
        var dropper = new Thread(() =>
        {
            for (var round = 0; round < 20_000 && !Volatile.Read(ref stop); round++)
            {
                mapper.EnterGuest();
                mapper.Access(new Gfn(Gfn), write: true, (ulong)round);
                mapper.ExitGuest();
                env.Mm.MadviseDontNeed(env.HvaOf(Gfn), Hva.PageSize);
                Volatile.Write(ref rounds, round + 1);
            }
        })
        { Name = "vcpu-1-and-madvise", IsBackground = true };
        dropper.Start();

        // A lost acknowledgement shows as a drop that never returns, not as a slow run: on a loaded machine each
        // shootdown waits for vCPU 0 to be scheduled, so the test watches progress instead of a deadline for all
        // rounds. It stops after 20 s of progress; a drop stuck for 10 s fails it.
        var stalled = false;
        var started = Environment.TickCount64;
        var lastRounds = -1;
        var lastProgress = started;
        while (!dropper.Join(100))
        {
            var now = Environment.TickCount64;
            var done = Volatile.Read(ref rounds);
            if (done != lastRounds)
            {
                (lastRounds, lastProgress) = (done, now);
            }
            else if (now - lastProgress > 10_000)
            {
                stalled = true;
                break;
            }

            if (now - started > 20_000)
            {
                Volatile.Write(ref stop, true);
            }
        }

        Volatile.Write(ref stop, true);
        Assert.That(spinner.Join(5000), Is.True, "vCPU 0 stops");
        var completed = Volatile.Read(ref rounds);
        Assert.Multiple(() =>
        {
            Assert.That(stalled, Is.False, $"no shootdown waits forever (a lost acknowledgement does); stuck after {completed} drops");
            Assert.That(completed, Is.GreaterThan(100), "enough drops ran to race the acknowledgement");
            Assert.That(env.Vm.Stats.Snapshot().TlbFlushes, Is.GreaterThanOrEqualTo(completed), "one shootdown per drop");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation");
        });
    }

    [Test]
    public void Without_the_tlb_flush_a_vcpu_keeps_using_the_freed_frame()
    {
        using var env = new TestVm(ShadowMutations.NoTlbFlush);
        Populate(env, 0);
        var vcpu = env.Vm.Vcpus[0];
        Assert.That(env.Mm.MadviseDontNeed(env.HvaOf(Gfn), Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise");
        vcpu.EnterGuest();
        var result = vcpu.Access(new Gfn(Gfn), write: false, 0);
        vcpu.ExitGuest();
        Assert.Multiple(() =>
        {
            Assert.That(result.Value, Is.EqualTo(HostMemory.Physical.PhysicalMemory.Poison), "the stale TLB entry reads the poisoned frame");
            Assert.That(env.Host.Violations.Count(ViolationKind.UseAfterFree), Is.EqualTo(1), "and the use-after-free is counted");
        });
    }

    [Test]
    public void Without_zapping_the_shadow_entry_outlives_the_host_page()
    {
        using var env = new TestVm(ShadowMutations.NoZap);
        Populate(env, 0);
        Assert.That(env.Mm.MadviseDontNeed(env.HvaOf(Gfn), Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise");
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        _ = vcpu.Access(new Gfn(Gfn), write: false, 0);
        vcpu.ExitGuest();
        Assert.That(env.Host.Violations.Count(ViolationKind.UseAfterFree), Is.GreaterThanOrEqualTo(1), "the stale SPTE leads to the freed frame");
    }

    [Test]
    public void A_non_blockable_start_never_refuses_it_spins_for_the_lock_and_the_vcpu_acknowledgement()
    {
        using var env = new TestVm(vcpus: 1);
        Populate(env, 0);
        using var parked = new ParkedVcpu(env.Vm.Vcpus[0], new Gfn(Gfn));
        Assert.That(parked.InGuest.Wait(5000), Is.True, "vCPU parked in guest mode");
        // The first invalidation holds the MMU write lock while its shootdown waits for the parked vCPU.
        var blocking = Task.Run(() => env.Mm.MadviseDontNeed(env.HvaOf(Gfn), Hva.PageSize));
        Assert.That(blocking.Wait(200), Is.False, "the first invalidation is stuck in its shootdown");
        var seqBefore = env.Vm.InvalidateSeq;
        var range = new NotifierRange(env.HvaOf(Gfn), env.HvaOf(Gfn + 1), NotifierEvent.Clear, InvalidationCause.OomReap, Blockable: false);
        var reaper = Task.Run(() => env.Mm.Notifiers.InvalidateRangeStart(range));
        Assert.That(reaper.Wait(200), Is.False, "kvm_mmu_notifier_invalidate_range_start takes mmu_lock even when it may not block");
        parked.Release();
        Assert.That(blocking.Wait(10_000), Is.True, "the first invalidation completes");
        Assert.That(reaper.Wait(10_000), Is.True, "then the non-blockable start gets the lock");
        var inProgressInside = env.Vm.InvalidateInProgress;
        env.Mm.Notifiers.InvalidateRangeEnd(range);
        Assert.Multiple(() =>
        {
            Assert.That(reaper.Result, Is.True, "KVM never refuses a start (its start always returns 0)");
            Assert.That(env.Vm.Stats.Snapshot().RefusedStarts, Is.Zero, "nothing refused");
            Assert.That(inProgressInside, Is.EqualTo(1), "the non-blockable section counted as in progress");
            Assert.That(env.Mm.Notifiers.OpenSections, Is.Zero, "sections balanced");
            Assert.That(env.Vm.InvalidateInProgress, Is.Zero, "in-progress is balanced");
            Assert.That(env.Vm.InvalidateSeq, Is.EqualTo(seqBefore + 2), "both invalidations moved the sequence");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violations");
        });
    }
}
