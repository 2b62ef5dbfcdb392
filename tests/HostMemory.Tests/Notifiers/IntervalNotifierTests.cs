using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Notifiers;

/// <summary>
/// Interval subscriptions (<c>mmu_interval_notifier</c>): which intervals a range reaches, the order against ordinary
/// notifiers, the read_begin / read_retry collision scheme, inserts and removes while invalidations run, refusals.
/// </summary>
[CancelAfter(20_000)]
public sealed class IntervalNotifierTests
{
    private static string[] Calls(params string[] calls) => calls;

    [Test]
    public void Interval_callbacks_run_before_the_ordinary_notifiers_at_start()
    {
        var (_, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        var log = new List<string>();
        var kvm = new LogNotifier("kvm", log);
        mm.RegisterNotifier(kvm);
        mm.Notifiers.InsertInterval(at, 8 * Hva.PageSize, new RecordingIntervalOps("gpu", log));

        Assert.That(mm.Munmap(at, 8 * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap");

        Assert.That(log, Is.EqualTo(Calls("gpu.invalidate", "kvm.start", "kvm.end")),
            "__mmu_notifier_invalidate_range_start calls the interval tree first (nouveau relies on it)");
    }

    [Test]
    public void Only_intervals_overlapping_the_range_are_called_and_the_last_byte_is_inclusive()
    {
        var (_, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(16);
        var log = new List<string>();
        mm.Notifiers.InsertInterval(at, 4 * Hva.PageSize, new RecordingIntervalOps("below", log));
        mm.Notifiers.InsertInterval(at.AddPages(3), 2 * Hva.PageSize, new RecordingIntervalOps("straddling", log));
        mm.Notifiers.InsertInterval(at.AddPages(8), 8 * Hva.PageSize, new RecordingIntervalOps("above", log));
        mm.Notifiers.InsertInterval(at.AddPages(5), 1, new RecordingIntervalOps("one-byte", log));

        var range = new NotifierRange(at.AddPages(4), at.AddPages(8), NotifierEvent.Clear, InvalidationCause.Other);
        Assert.That(mm.Notifiers.InvalidateRangeStart(range), Is.True, "start");
        mm.Notifiers.InvalidateRangeEnd(range);

        Assert.That(log, Is.EquivalentTo(Calls("straddling.invalidate", "one-byte.invalidate")),
            "[start, end) against [start, last]: an interval ending one byte before the range or starting at its end is not hit");
    }

    [Test]
    public void Read_retry_is_true_only_after_an_invalidation_hit_the_interval()
    {
        var (_, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        var ops = new RecordingIntervalOps("gpu", []);
        var sub = mm.Notifiers.InsertInterval(at, 4 * Hva.PageSize, ops);

        var seq = sub.ReadBegin();
        Assert.That(sub.ReadRetry(seq), Is.False, "nothing happened since read_begin");
        Assert.That(mm.Munmap(at.AddPages(6), 1 * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap outside the interval");
        Assert.That(sub.ReadRetry(seq), Is.False, "an invalidation elsewhere does not collide");
        Assert.That(mm.MadviseDontNeed(at, Hva.PageSize), Is.EqualTo(HostStatus.Ok), "madvise inside");
        Assert.Multiple(() =>
        {
            Assert.That(sub.ReadRetry(seq), Is.True, "an invalidation of the interval since read_begin means retry");
            Assert.That(sub.InvalidateSeq % 2, Is.EqualTo(1UL), "set_seq stores the odd cur_seq");
            Assert.That(mm.Notifiers.IntervalSeq % 2, Is.Zero, "the address space's sequence is even again after the end");
        });
    }

    [Test]
    public void Read_begin_waits_for_the_end_of_an_invalidation_that_hit_its_interval_but_not_for_others()
    {
        var (_, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        var hit = mm.Notifiers.InsertInterval(at, Hva.PageSize, new RecordingIntervalOps("hit", []));
        var missed = mm.Notifiers.InsertInterval(at.AddPages(4), Hva.PageSize, new RecordingIntervalOps("missed", []));
        var range = new NotifierRange(at, at.AddPages(1), NotifierEvent.Clear, InvalidationCause.Other);
        Assert.That(mm.Notifiers.InvalidateRangeStart(range), Is.True, "start");

        _ = missed.ReadBegin();
        using var reader = TestThread.Start("read-begin", () => hit.ReadBegin());
        var blocked = !reader.WaitDone(TestHosts.BlockedProbe);
        mm.Notifiers.InvalidateRangeEnd(range);
        reader.Join(TestHosts.MustHappen);

        Assert.That(blocked, Is.True, "read_begin on an interval being invalidated waits for the end");
    }

    [Test]
    public void An_insert_while_the_sequence_is_odd_is_deferred_to_the_last_end_and_its_first_read_begin_waits()
    {
        var (_, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        var log = new List<string>();
        mm.Notifiers.InsertInterval(at, 8 * Hva.PageSize, new RecordingIntervalOps("first", log));
        var range = new NotifierRange(at, at.AddPages(8), NotifierEvent.Clear, InvalidationCause.Other);
        Assert.That(mm.Notifiers.InvalidateRangeStart(range), Is.True, "start");

        var late = mm.Notifiers.InsertInterval(at, 8 * Hva.PageSize, new RecordingIntervalOps("late", log));
        var countInside = mm.Notifiers.IntervalCount;
        var deferredInside = mm.Notifiers.DeferredIntervalUpdates;
        // A second, nested section while the insert is queued must not call it: the set is frozen.
        Assert.That(mm.Notifiers.InvalidateRangeStart(range), Is.True, "nested start");
        mm.Notifiers.InvalidateRangeEnd(range);
        var stillDeferred = mm.Notifiers.DeferredIntervalUpdates;
        using var reader = TestThread.Start("read-begin", () => late.ReadBegin());
        var blocked = !reader.WaitDone(TestHosts.BlockedProbe);
        mm.Notifiers.InvalidateRangeEnd(range);
        reader.Join(TestHosts.MustHappen);

        Assert.Multiple(() =>
        {
            Assert.That(countInside, Is.EqualTo(1), "the set does not change while the sequence is odd");
            Assert.That(deferredInside, Is.EqualTo(1), "the insert is queued");
            Assert.That(stillDeferred, Is.EqualTo(1), "an inner end is not the last end");
            Assert.That(log, Is.EqualTo(Calls("first.invalidate", "first.invalidate")), "the queued subscription is not called");
            Assert.That(blocked, Is.True, "its first read_begin waits for the sections that were in flight at insert");
            Assert.That(mm.Notifiers.IntervalCount, Is.EqualTo(2), "the last end adds it");
            Assert.That(mm.Notifiers.DeferredIntervalUpdates, Is.Zero, "and empties the queue");
        });
    }

    [Test]
    public void An_insert_while_only_unrelated_sections_run_goes_in_at_once_and_makes_the_sequence_odd()
    {
        var (_, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        // Interval mode is on before the section starts (it is switched on under the mmap write lock).
        mm.Notifiers.InsertInterval(at.AddPages(7), Hva.PageSize, new RecordingIntervalOps("elsewhere", []));
        var range = new NotifierRange(at, at.AddPages(1), NotifierEvent.Clear, InvalidationCause.Other);
        Assert.That(mm.Notifiers.InvalidateRangeStart(range), Is.True, "a section that hits no interval");
        var evenInside = mm.Notifiers.IntervalSeq % 2 == 0;

        var sub = mm.Notifiers.InsertInterval(at.AddPages(4), Hva.PageSize, new RecordingIntervalOps("gpu", []));
        var oddAfterInsert = mm.Notifiers.IntervalSeq % 2 == 1;
        using var reader = TestThread.Start("read-begin", () => sub.ReadBegin());
        var blocked = !reader.WaitDone(TestHosts.BlockedProbe);
        mm.Notifiers.InvalidateRangeEnd(range);
        reader.Join(TestHosts.MustHappen);

        Assert.Multiple(() =>
        {
            Assert.That(evenInside, Is.True, "a section that hit nothing leaves the sequence even (partially excluded)");
            Assert.That(mm.Notifiers.IntervalCount, Is.EqualTo(2), "the insert went straight into the set");
            Assert.That(oddAfterInsert, Is.True, "and froze it (seq |= 1)");
            Assert.That(blocked, Is.True, "the first read_begin still waits: the section in flight may cover the new interval");
        });
    }

    [Test]
    public void Remove_while_an_invalidation_runs_waits_for_its_end_and_no_callback_follows()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        var log = new List<string>();
        var sub = mm.Notifiers.InsertInterval(at, 8 * Hva.PageSize, new RecordingIntervalOps("gpu", log));
        var range = new NotifierRange(at, at.AddPages(8), NotifierEvent.Clear, InvalidationCause.Other);
        Assert.That(mm.Notifiers.InvalidateRangeStart(range), Is.True, "start");

        using var remover = TestThread.Start("remove", sub.Remove);
        var blocked = !remover.WaitDone(TestHosts.BlockedProbe);
        var countWhileWaiting = mm.Notifiers.IntervalCount;
        mm.Notifiers.InvalidateRangeEnd(range);
        remover.Join(TestHosts.MustHappen);
        Assert.That(mm.Munmap(at, 8 * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap after remove");

        Assert.Multiple(() =>
        {
            Assert.That(blocked, Is.True, "remove waits while the interval may still be called");
            Assert.That(countWhileWaiting, Is.EqualTo(1), "the set is frozen: the removal is queued");
            Assert.That(mm.Notifiers.IntervalCount, Is.Zero, "the last end removed it");
            Assert.That(log, Has.Count.EqualTo(1), "no callback after remove returned");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void A_non_blockable_refusal_by_an_interval_stops_the_walk_closes_the_interval_half_and_skips_the_hlist()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        var log = new List<string>();
        mm.RegisterNotifier(new LogNotifier("kvm", log));
        var first = new RecordingIntervalOps("first", log);
        var firstSub = mm.Notifiers.InsertInterval(at, 8 * Hva.PageSize, first);
        mm.Notifiers.InsertInterval(at.AddPages(1), 7 * Hva.PageSize, new RecordingIntervalOps("second", log));
        var range = new NotifierRange(at, at.AddPages(8), NotifierEvent.Clear, InvalidationCause.OomReap, Blockable: false);

        first.UserLock.Wait(); // the device is busy: its trylock fails
        var started = mm.Notifiers.InvalidateRangeStart(range);
        first.UserLock.Release();

        using var reader = TestThread.Start("read-begin", () => firstSub.ReadBegin());
        Assert.Multiple(() =>
        {
            Assert.That(started, Is.False, "the refusal reaches the caller (-EAGAIN)");
            Assert.That(log, Is.EqualTo(Calls("first.invalidate")), "later intervals and the ordinary notifiers are not called");
            Assert.That(mm.Notifiers.IntervalSeq % 2, Is.Zero, "mn_itree_invalidate ran the end itself: the sequence is even");
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "no section is open");
            Assert.That(reader.WaitDone(TestHosts.MustHappen), Is.True, "read_begin does not wait on the refused section");
            Assert.That(host.Violations.Total, Is.Zero, "refusing a non-blockable range is allowed");
            Assert.That(host.Read(HostCounter.RefusedStarts), Is.EqualTo(1), "counted");
        });
    }

    [Test]
    public void A_refusal_under_a_blockable_range_is_a_violation_and_is_ignored()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        var log = new List<string>();
        mm.RegisterNotifier(new LogNotifier("kvm", log));
        mm.Notifiers.InsertInterval(at, 8 * Hva.PageSize, new RecordingIntervalOps("broken", log) { RefuseAlways = true });

        Assert.That(mm.Munmap(at, 8 * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap");

        Assert.Multiple(() =>
        {
            Assert.That(host.Violations.Count(ViolationKind.NotifierProtocol), Is.EqualTo(1), "WARN_ON(blockable) is counted");
            Assert.That(log, Is.EqualTo(Calls("broken.invalidate", "kvm.start", "kvm.end")), "the walk continues");
        });
    }

    [Test]
    public void A_refusal_by_an_ordinary_notifier_after_the_interval_half_also_closes_the_interval_half()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        var sub = mm.Notifiers.InsertInterval(at, 8 * Hva.PageSize, new RecordingIntervalOps("gpu", []));
        mm.RegisterNotifier(new RecordingNotifier("nouveau-hlist", new EventLog()) { Policy = StartPolicy.RefuseNonBlockable, HasEnd = false });
        var range = new NotifierRange(at, at.AddPages(8), NotifierEvent.Clear, InvalidationCause.OomReap, Blockable: false);

        var started = mm.Notifiers.InvalidateRangeStart(range);
        using var reader = TestThread.Start("read-begin", () => sub.ReadBegin());

        Assert.Multiple(() =>
        {
            Assert.That(started, Is.False, "refused");
            Assert.That(mm.Notifiers.IntervalSeq % 2, Is.Zero, "the interval half was ended too: the sequence is even");
            Assert.That(reader.WaitDone(TestHosts.MustHappen), Is.True, "so read_begin does not wait forever");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Exit_invalidates_every_interval_over_the_whole_space_with_the_release_event()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        var ops = new RecordingIntervalOps("gpu", []);
        mm.Notifiers.InsertInterval(at, Hva.PageSize, ops);

        mm.Exit();

        Assert.Multiple(() =>
        {
            Assert.That(ops.Ranges.Select(r => r.Event), Is.EqualTo(new[] { NotifierEvent.Release }), "mn_itree_release");
            Assert.That(ops.Ranges[0].Start.Value, Is.Zero, "from address zero");
            Assert.That(ops.Ranges[0].End.Value, Is.EqualTo(ulong.MaxValue), "to ULONG_MAX");
            Assert.That(ops.Ranges[0].Blockable, Is.True, "blockable");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void An_empty_or_overflowing_interval_is_rejected()
    {
        var (_, mm) = TestHosts.WithSpace();
        var ops = new RecordingIntervalOps("gpu", []);
        Assert.Multiple(() =>
        {
            Assert.That(() => mm.Notifiers.InsertInterval(new Hva(0x1000), 0, ops), Throws.InstanceOf<ArgumentOutOfRangeException>(), "length 0");
            Assert.That(() => mm.Notifiers.InsertInterval(new Hva(ulong.MaxValue - 10), 100, ops), Throws.InstanceOf<ArgumentOutOfRangeException>(), "-EOVERFLOW");
        });
    }
}
