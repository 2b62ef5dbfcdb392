using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Physical;
using Hypervisor.ShadowMmu.Statistics;
using Hypervisor.ShadowMmu.Tables;
using Hypervisor.ShadowMmu.Vcpus;
using Hypervisor.ShadowMmu.Vms;
using NUnit.Framework;

namespace Hypervisor.ShadowMmu.Tests;

/// <summary>
/// The two races of reference section 3.6, made deterministic with the hook between get_user_pages and the MMU
/// lock. Intact protocol: the fault retries and the final SPTE maps the host's current page. Broken variants:
/// the stale SPTE stays and the checkers see it. The lockless pre-checks are off except where a test says otherwise:
/// these races are about the check under the MMU lock, which must hold on its own.
/// </summary>
[TestFixture]
[CancelAfter(20_000)]
public class FaultRaceTests
{
    private const ulong Gfn = 7;

    /// <summary>Race B: a whole invalidation (madvise frees the page) runs between gup and the lock.</summary>
    private static (TestVm Env, Pfn OldPfn, AccessResult Result) RunCompletedInvalidationRace(ShadowMutations mutations, bool preCheck = false)
    {
        var fired = 0;
        TestVm? env = null;
        env = new TestVm(mutations, preCheck: preCheck, afterGup: _ =>
        {
            if (Interlocked.Exchange(ref fired, 1) == 0)
            {
                // The VMM drops the page while the vCPU holds a stale pfn and has not taken the lock yet.
                Assert.That(env!.Mm.MadviseDontNeed(env.HvaOf(Gfn), Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise");
            }
        });
        Assert.That(env.Mm.HostWrite(env.HvaOf(Gfn), 0xAAAA), Is.EqualTo(HostStatus.Ok), "the VMM populates the page");
        var oldPfn = env.HostPfn(Gfn);
        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        var result = vcpu.Access(new Gfn(Gfn), write: false, 0);
        vcpu.ExitGuest();
        return (env, oldPfn, result);
    }

    [Test]
    public void A_completed_invalidation_between_gup_and_lock_makes_the_fault_retry()
    {
        var (env, oldPfn, result) = RunCompletedInvalidationRace(ShadowMutations.None);
        using var _ = env;
        var spte = env.Vm.Table.Read(Gfn);
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Vcpus[0].Stats.Snapshot().Retries[RetryReason.SequenceChanged], Is.EqualTo(1), "the moved sequence forced one retry");
            Assert.That(Spte.PfnOf(spte), Is.Not.EqualTo(oldPfn), "the final SPTE does not map the dropped page");
            Assert.That(Spte.PfnOf(spte), Is.EqualTo(env.HostPfn(Gfn)), "the final SPTE maps what the host maps now");
            Assert.That(result.Value, Is.Zero, "after DONTNEED private anonymous memory reads as zero");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation with the protocol intact");
        });
    }

    [Test]
    public void The_lockless_pre_check_sees_the_completed_invalidation_before_the_lock()
    {
        var (env, oldPfn, result) = RunCompletedInvalidationRace(ShadowMutations.None, preCheck: true);
        using var _ = env;
        var retries = env.Vm.Vcpus[0].Stats.Snapshot().Retries;
        Assert.Multiple(() =>
        {
            Assert.That(retries[RetryReason.PreCheck], Is.EqualTo(1), "mmu_invalidate_retry_gfn_unsafe after gup saw the moved sequence");
            Assert.That(retries[RetryReason.SequenceChanged], Is.Zero, "so the fault never took the MMU lock to find out");
            Assert.That(Spte.PfnOf(env.Vm.Table.Read(Gfn)), Is.Not.EqualTo(oldPfn), "the final SPTE does not map the dropped page");
            Assert.That(result.Value, Is.Zero, "after DONTNEED private anonymous memory reads as zero");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation with the protocol intact");
            Assert.That(env.Vm.Vcpus[0].Stats.Snapshot().GupReferencesDropped, Is.EqualTo(env.Vm.Vcpus[0].Stats.Snapshot().GupReferencesTaken),
                "the pre-check's retry dropped the page reference gup took");
        });
    }

    [Test]
    public void Without_the_seq_check_the_stale_entry_survives_and_is_caught()
    {
        var (env, oldPfn, result) = RunCompletedInvalidationRace(ShadowMutations.NoSeqCheck);
        using var _ = env;
        Assert.Multiple(() =>
        {
            Assert.That(Spte.PfnOf(env.Vm.Table.Read(Gfn)), Is.EqualTo(oldPfn), "the SPTE maps the page the host dropped");
            Assert.That(env.Host.Memory.IsFree(oldPfn), Is.True, "and that page is free");
            Assert.That(result.Value, Is.EqualTo(PhysicalMemory.Poison), "the guest read the poison of a freed frame");
            Assert.That(env.Host.Violations.Count(ViolationKind.UseAfterFree), Is.GreaterThan(0), "the use-after-free is counted");
            Assert.That(env.Host.Violations.Count(ShadowViolations.StaleInstall), Is.EqualTo(1), "the stale install is counted");
        });
    }

    /// <summary>
    /// Race A: the vCPU resolves the page while an invalidation is open (start done, PTE not yet changed).
    /// The gate notifier is registered before the VM, so the chain calls it after the VM's start.
    /// </summary>
    private static (TestVm Env, Pfn OldPfn, Pfn InstalledFirst) RunOpenInvalidationRace(ShadowMutations mutations)
    {
        var gate = new GateNotifier();
        var attempts = 0;
        var installedFirst = default(Pfn);
        TestVm? env = null;
        Thread? host = null;
        env = new TestVm(mutations, preCheck: false, beforeVm: mm => mm.RegisterNotifier(gate), afterGup: _ =>
        {
            if (Interlocked.Increment(ref attempts) == 2)
            {
                // Second attempt: remember what the first one left behind, then let the host finish.
                installedFirst = Spte.PfnOf(env!.Vm.Table.Read(Gfn));
                gate.OpenGate();
                host!.Join();
            }
        });
        Assert.That(env.Mm.HostWrite(env.HvaOf(Gfn), 0xBBBB), Is.EqualTo(HostStatus.Ok), "the VMM populates the page");
        var oldPfn = env.HostPfn(Gfn);
        gate.CloseGate();
        host = new Thread(() => env.Mm.MadviseDontNeed(env.HvaOf(Gfn), Hva.PageSize)) { Name = "host-madvise" };
        host.Start();
        Assert.That(gate.Parked.Wait(TimeSpan.FromSeconds(10)), Is.True, "the host parks inside the open invalidation");
        Assert.That(env.Vm.InvalidateInProgress, Is.EqualTo(1), "the VM counts the open invalidation");

        var vcpu = env.Vm.Vcpus[0];
        vcpu.EnterGuest();
        var result = vcpu.Access(new Gfn(Gfn), write: false, 0);
        vcpu.ExitGuest();
        if (Volatile.Read(ref attempts) < 2)
        {
            // The first attempt installed (broken variant): the section is still open; record and let it finish.
            installedFirst = Spte.PfnOf(env.Vm.Table.Read(Gfn));
            gate.OpenGate();
            host.Join();
        }

        Assert.That(result.IsOk, Is.True, "the access completes");
        return (env, oldPfn, installedFirst);
    }

    [Test]
    public void A_fault_during_an_open_invalidation_retries_until_it_ends()
    {
        var (env, oldPfn, installedFirst) = RunOpenInvalidationRace(ShadowMutations.None);
        using var _ = env;
        Assert.Multiple(() =>
        {
            Assert.That(env.Vm.Vcpus[0].Stats.Snapshot().Retries[RetryReason.InvalidationInProgress], Is.GreaterThanOrEqualTo(1), "in-progress forced a retry");
            Assert.That(installedFirst, Is.Not.EqualTo(oldPfn), "nothing was installed from the open section");
            Assert.That(Spte.PfnOf(env.Vm.Table.Read(Gfn)), Is.EqualTo(env.HostPfn(Gfn)), "the final SPTE maps the host's current page");
            Assert.That(env.Host.Violations.Total, Is.Zero, "no violation with the protocol intact");
        });
    }

    [Test]
    public void Without_the_in_progress_check_the_entry_installed_inside_the_section_is_caught()
    {
        var (env, oldPfn, installedFirst) = RunOpenInvalidationRace(ShadowMutations.NoInProgressCheck);
        using var _ = env;
        Assert.Multiple(() =>
        {
            Assert.That(installedFirst, Is.EqualTo(oldPfn), "the first fault installed the page being invalidated");
            Assert.That(env.Host.Violations.Count(ShadowViolations.InstallDuringInvalidation), Is.GreaterThanOrEqualTo(1), "the install inside the open section is counted");
        });
    }

    [Test]
    public void Sampling_the_sequence_after_gup_misses_the_completed_invalidation()
    {
        var (env, oldPfn, _) = RunCompletedInvalidationRace(ShadowMutations.SeqAfterGup);
        using var __ = env;
        Assert.Multiple(() =>
        {
            Assert.That(Spte.PfnOf(env.Vm.Table.Read(Gfn)), Is.EqualTo(oldPfn), "the stale page was installed");
            Assert.That(env.Host.Violations.Total, Is.GreaterThan(0), "the checkers caught it");
        });
    }
}
