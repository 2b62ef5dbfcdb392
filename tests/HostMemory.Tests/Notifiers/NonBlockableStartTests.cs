using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Notifiers;

/// <summary>
/// The non-blockable start (<c>mmu_notifier_invalidate_range_start_nonblock</c>, the OOM reaper): a notifier may
/// refuse; the chain still calls every start, then gives every notifier that has an end its end, and the caller
/// neither zaps nor calls end. The chain calls the newest registration first.
/// </summary>
public sealed class NonBlockableStartTests
{
    [Test]
    public void A_refused_non_blockable_start_calls_every_start_then_the_end_of_every_notifier_that_has_one()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);
        var log = new EventLog();
        // Registered first, so called second: it refuses after the other has started.
        var refuser = new RecordingNotifier("refuser", log) { Policy = StartPolicy.RefuseNonBlockable, HasEnd = false };
        var accepter = new RecordingNotifier("accepter", log);
        mm.RegisterNotifier(refuser);
        mm.RegisterNotifier(accepter);
        var range = new NotifierRange(at, at.AddPages(4), NotifierEvent.Clear, InvalidationCause.OomReap, Blockable: false);

        var started = mm.Notifiers.InvalidateRangeStart(range);

        Assert.Multiple(() =>
        {
            Assert.That(started, Is.False, "a refused non-blockable start reports failure to the caller");
            Assert.That(log.Entries.Select(e => (e.Notifier, e.Kind)), Is.EqualTo(new[]
                {
                    ("accepter", CallbackKind.InvalidateRangeStart),
                    ("refuser", CallbackKind.InvalidateRangeStart),
                    ("accepter", CallbackKind.InvalidateRangeEnd),
                }),
                $"newest first; the notifier whose start succeeded gets its end, the refuser has none:\n{log.Dump()}");
            Assert.That(log.Entries.Select(e => e.Blockable), Has.All.False, "every callback sees the non-blockable flag");
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "no section stays open after a refusal");
            Assert.That(host.Read(HostCounter.RefusedStarts), Is.EqualTo(1), "the refusal is counted");
            Assert.That(host.Violations.Total, Is.Zero, "refusing a non-blockable start is allowed");
        });
    }

    [Test]
    public void A_refusal_by_the_first_notifier_called_does_not_stop_the_walk_and_the_later_ones_get_their_end()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);
        var log = new EventLog();
        var accepter = new RecordingNotifier("accepter", log);
        var refuser = new RecordingNotifier("refuser", log) { Policy = StartPolicy.RefuseNonBlockable, HasEnd = false };
        mm.RegisterNotifier(accepter);
        mm.RegisterNotifier(refuser);
        var range = new NotifierRange(at, at.AddPages(4), NotifierEvent.Clear, InvalidationCause.OomReap, Blockable: false);

        var started = mm.Notifiers.InvalidateRangeStart(range);

        Assert.Multiple(() =>
        {
            Assert.That(started, Is.False, "the start failed");
            Assert.That(log.Entries.Select(e => (e.Notifier, e.Kind)), Is.EqualTo(new[]
                {
                    ("refuser", CallbackKind.InvalidateRangeStart),
                    ("accepter", CallbackKind.InvalidateRangeStart),
                    ("accepter", CallbackKind.InvalidateRangeEnd),
                }),
                $"mn_hlist_invalidate_range_start calls every start on -EAGAIN, then every end:\n{log.Dump()}");
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "no section is open");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void A_refusing_notifier_that_implements_end_is_warned_about_and_still_gets_the_end()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);
        var log = new EventLog();
        var refuser = new RecordingNotifier("refuser", log) { Policy = StartPolicy.RefuseNonBlockable };
        mm.RegisterNotifier(refuser);
        var range = new NotifierRange(at, at.AddPages(4), NotifierEvent.Clear, InvalidationCause.OomReap, Blockable: false);

        var started = mm.Notifiers.InvalidateRangeStart(range);

        Assert.Multiple(() =>
        {
            Assert.That(started, Is.False, "the start failed");
            Assert.That(host.Violations.Count(ViolationKind.NotifierProtocol), Is.EqualTo(1),
                "WARN_ON(ops->invalidate_range_end): a notifier that can refuse must not implement end");
            Assert.That(refuser.CallsOf(CallbackKind.InvalidateRangeEnd), Has.Count.EqualTo(1),
                "the kernel cannot tell which start failed: every notifier with an end gets one");
        });
    }

    [Test]
    public void A_non_blockable_start_that_everyone_accepts_opens_a_section_until_its_end()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);
        var kvm = new RecordingNotifier("kvm", new EventLog()) { Policy = StartPolicy.RefuseNonBlockable };
        mm.RegisterNotifier(kvm);
        var blockable = new NotifierRange(at, at.AddPages(4), NotifierEvent.Clear, InvalidationCause.Other);

        var started = mm.Notifiers.InvalidateRangeStart(blockable);
        var openInside = mm.Notifiers.OpenSections;
        mm.Notifiers.InvalidateRangeEnd(blockable);

        Assert.Multiple(() =>
        {
            Assert.That(started, Is.True, "a blockable start is accepted by a notifier that only refuses non-blockable ones");
            Assert.That(openInside, Is.EqualTo(1), "a section is open between start and end");
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "and closed by the end");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void A_refused_blockable_start_is_reported_as_a_protocol_violation()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);
        var kvm = new RecordingNotifier("broken", new EventLog()) { Policy = StartPolicy.RefuseAll, HasEnd = false };
        mm.RegisterNotifier(kvm);
        var range = new NotifierRange(at, at.AddPages(4), NotifierEvent.Unmap, InvalidationCause.Munmap);

        var started = mm.Notifiers.InvalidateRangeStart(range);

        Assert.Multiple(() =>
        {
            Assert.That(started, Is.False, "the refusal is still reported to the caller");
            Assert.That(host.Violations.Count(ViolationKind.NotifierProtocol), Is.EqualTo(1),
                "a blockable start may not be refused: the checker counts it");
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "no section is open");
        });
    }

    [Test]
    public void An_end_without_a_start_is_reported_as_a_protocol_violation()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);
        mm.RegisterNotifier(new RecordingNotifier("kvm", new EventLog()));

        mm.Notifiers.InvalidateRangeEnd(new NotifierRange(at, at.AddPages(4), NotifierEvent.Clear, InvalidationCause.Other));

        Assert.Multiple(() =>
        {
            Assert.That(host.Violations.Count(ViolationKind.NotifierProtocol), Is.EqualTo(1), "an unmatched end is caught (I5)");
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "the counter does not go negative");
        });
    }
}
