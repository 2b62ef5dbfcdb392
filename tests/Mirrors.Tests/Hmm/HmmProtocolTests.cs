using Hypervisor.HostMemory;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Reclaim;
using Hypervisor.Mirrors.Common;
using Hypervisor.Mirrors.Hmm;
using Hypervisor.Mirrors.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Mirrors.Tests.Hmm;

/// <summary>The mirror's collision-retry, its refusal of a non-blockable invalidation, and its broken variant.</summary>
[CancelAfter(30_000)]
public sealed class HmmProtocolTests
{
    [Test]
    public void A_fault_whose_snapshot_an_invalidation_passed_retries_and_maps_the_new_page()
    {
        var (host, mm) = Hosts.WithSpace();
        using var dmirror = new DeviceMirror(mm, "gpu");
        var ptr = mm.MapAnon(1);
        mm.Fill(ptr, 1, _ => 7);
        CollideOnce(dmirror, ptr);
        var value = new ulong[1];

        var ret = dmirror.Read(ptr, 1, value);

        Assert.Multiple(() =>
        {
            Assert.That(ret.Status, Is.EqualTo(HostStatus.Ok), "the read completes");
            Assert.That(dmirror.Statistics.Retries, Is.EqualTo(1), "read_retry saw the collision");
            Assert.That(value[0], Is.Zero, "the device reads the page as it is after the madvise");
            Assert.That(dmirror.CheckCoherence(), Is.Zero, "the device entry matches the host");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Mutation_hmm_no_set_seq_is_caught_the_device_maps_a_freed_page()
    {
        var (host, mm) = Hosts.WithSpace();
        using var dmirror = new DeviceMirror(mm, "gpu", MirrorMutations.HmmNoSetSeq);
        var ptr = mm.MapAnon(1);
        mm.Fill(ptr, 1, _ => 7);
        CollideOnce(dmirror, ptr);
        var value = new ulong[1];

        dmirror.Read(ptr, 1, value);
        var stale = dmirror.CheckCoherence();

        Assert.Multiple(() =>
        {
            Assert.That(dmirror.Statistics.Retries, Is.Zero, "without set_seq read_retry cannot see the collision");
            Assert.That(stale, Is.EqualTo(1), "the checker finds the device entry that the host no longer maps");
            Assert.That(host.Violations.Count(MirrorViolations.StaleMapping), Is.EqualTo(1), "reported as a stale mapping");
            Assert.That(host.Violations.Count(ViolationKind.UseAfterFree), Is.EqualTo(1), "and the device read the freed frame");
        });
    }

    [Test]
    public void The_oom_reaper_meets_a_busy_mirror_that_refuses_and_retries_until_it_accepts()
    {
        var (host, _) = Hosts.WithSpace();
        using var manager = new HostMemoryManager(host, new ReclaimOptions { SwapEnabled = false });
        var victim = host.CreateAddressSpace("victim");
        using var dmirror = new DeviceMirror(victim, "gpu");
        var ptr = victim.MapAnon(8);
        victim.Fill(ptr, 8, i => i + 1);
        Assert.That(dmirror.Read(ptr, 8, new ulong[8]).Status, Is.EqualTo(HostStatus.Ok), "the device mirrors the victim");

        dmirror.DeviceLock.Wait(); // the device is busy (a command in progress)
        var refused = manager.OomReapOnce();
        dmirror.DeviceLock.Release();
        var stillMapped = dmirror.MappedPages;
        var accepted = manager.OomReapOnce();

        Assert.Multiple(() =>
        {
            Assert.That(refused.RangesDeferred, Is.EqualTo(1), "the trylock failed: -EAGAIN, the range is deferred");
            Assert.That(refused.RangesReaped, Is.Zero, "nothing reaped");
            Assert.That(dmirror.Statistics.Refusals, Is.EqualTo(1), "the mirror counted its refusal");
            Assert.That(stillMapped, Is.EqualTo(8), "a refused invalidation dropped nothing");
            Assert.That(accepted.RangesReaped, Is.EqualTo(1), "once the device is idle the reaper gets through");
            Assert.That(dmirror.MappedPages, Is.Zero, "and the mirror dropped its entries");
            Assert.That(victim.Notifiers.IntervalSeq % 2, Is.Zero, "the interval sequence is even again");
            Assert.That(host.Violations.Total, Is.Zero, "a refusal of a non-blockable start is allowed");
        });
    }

    [Test]
    public void Under_the_legacy_profile_a_single_page_invalidation_reaches_the_interval_mirror()
    {
        var (host, mm) = Hosts.WithSpace(HostMemory.Notifiers.NotifierProfile.Legacy2008);
        using var dmirror = new DeviceMirror(mm, "gpu");
        var ptr = mm.MapAnon(1);
        mm.Fill(ptr, 1, _ => 7);
        Assert.That(dmirror.Read(ptr, 1, new ulong[1]).Status, Is.EqualTo(HostStatus.Ok), "device read");
        var child = mm.Fork("child");
        mm.Fill(ptr, 1, _ => 8); // copy-on-write: the legacy profile calls invalidate_page for this one page

        var value = new ulong[1];
        dmirror.Read(ptr, 1, value);

        Assert.Multiple(() =>
        {
            Assert.That(value[0], Is.EqualTo(8UL), "the device follows the parent's new page");
            Assert.That(dmirror.CheckCoherence(), Is.Zero, "coherent");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
        child.Exit();
    }

    /// <summary>After the fault's snapshot, before it takes the mutex, the CPU drops the page (madvise).</summary>
    private static void CollideOnce(DeviceMirror dmirror, Hva page)
    {
        var fired = 0;
        dmirror.AfterSnapshot = _ =>
        {
            if (Interlocked.Exchange(ref fired, 1) == 0)
            {
                dmirror.Mm.MadviseDontNeed(page, Hva.PageSize);
            }
        };
    }
}
