using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Notifiers;

/// <summary>Unregistering: Release if needed, then a grace period so that no callback runs afterwards (I6).</summary>
public sealed class UnregisterTests
{
    [Test]
    [CancelAfter(30_000)]
    public void Unregister_waits_until_a_blocked_callback_has_returned(CancellationToken cancellation)
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        mm.Populate(at, 8);
        var log = new EventLog();
        var kvm = new RecordingNotifier("kvm", log);
        mm.RegisterNotifier(kvm);
        using var parked = kvm.ParkNext(CallbackKind.InvalidateRangeStart, cancellation);
        using var munmap = TestThread.Start("munmap", () => mm.Munmap(at, 8 * Hva.PageSize));
        Assert.That(parked.WaitEntered(TestHosts.MustHappen), Is.True, "the munmap parks inside the notifier's start");

        using var unregister = TestThread.Start("unregister", () =>
        {
            var removed = mm.UnregisterNotifier(kvm);
            log.Mark("test", removed ? "unregister returned" : "unregister found nothing");
        });
        var releasedWhileBlocked = SpinWait.SpinUntil(() => kvm.CallsOf(CallbackKind.Release).Count == 1, TestHosts.MustHappen);
        var returnedWhileBlocked = unregister.WaitDone(TestHosts.BlockedProbe, cancellation);
        parked.Open();
        unregister.Join(TestHosts.MustHappen, cancellation);
        munmap.Join(TestHosts.MustHappen, cancellation);

        Assert.Multiple(() =>
        {
            Assert.That(returnedWhileBlocked, Is.False, "unregister must not return while a callback of the notifier is running");
            Assert.That(releasedWhileBlocked, Is.True, "unregister calls Release first, concurrently with the blocked start (it must be idempotent)");
            Assert.That(kvm.CallsOf(CallbackKind.Release), Has.Count.EqualTo(1), "and only once");
            Assert.That(kvm.CallsOf(CallbackKind.CallbackReturned).Single().Sequence, Is.LessThan(log.MarkerNamed("unregister returned").Sequence),
                $"the blocked callback returned before unregister did:\n{log.Dump()}");
            Assert.That(kvm.CallsOf(CallbackKind.InvalidateRangeEnd), Is.Empty, "no callback runs after unregister returned, not even the end");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public void Unregister_without_wait_mutation_returns_while_the_callback_is_still_running(CancellationToken cancellation)
    {
        var (_, mm) = TestHosts.WithSpace(mutations: HostMutations.UnregisterWithoutWait);
        var at = mm.MapAnon(8);
        mm.Populate(at, 8);
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);
        using var parked = kvm.ParkNext(CallbackKind.InvalidateRangeStart, cancellation);
        using var munmap = TestThread.Start("munmap", () => mm.Munmap(at, 8 * Hva.PageSize));
        Assert.That(parked.WaitEntered(TestHosts.MustHappen), Is.True, "the munmap parks inside the notifier's start");

        var returned = mm.UnregisterNotifier(kvm);
        var callbackStillRunning = !parked.HasReturned;
        parked.Open();
        munmap.Join(TestHosts.MustHappen, cancellation);

        Assert.Multiple(() =>
        {
            Assert.That(returned, Is.True, "the notifier was registered");
            Assert.That(callbackStillRunning, Is.True, "the broken variant returns from unregister while the callback still runs (I6 broken, observably)");
        });
    }

    [Test]
    public void Unregister_calls_release_when_it_has_not_run_and_no_callback_follows()
    {
        var (_, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        mm.Populate(at, 8);
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);

        var removed = mm.UnregisterNotifier(kvm);
        Assert.That(mm.Munmap(at, 8 * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "munmap after unregister succeeds");

        Assert.Multiple(() =>
        {
            Assert.That(removed, Is.True, "a registered notifier is removed");
            Assert.That(kvm.Calls.Select(c => c.Kind), Is.EqualTo(new[] { CallbackKind.Release }), "Release once, then nothing");
            Assert.That(mm.Notifiers.HasNotifiers, Is.False, "the chain is empty");
            Assert.That(mm.UnregisterNotifier(kvm), Is.False, "a second unregister finds nothing");
            Assert.That(kvm.CallsOf(CallbackKind.Release), Has.Count.EqualTo(1), "and does not call Release again");
        });
    }

    [Test]
    public void Unregister_after_exit_does_not_call_release_again()
    {
        var (_, mm) = TestHosts.WithSpace();
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);
        mm.Exit();

        var removed = mm.UnregisterNotifier(kvm);

        Assert.Multiple(() =>
        {
            Assert.That(removed, Is.False, "exit already unhashed the notifier");
            Assert.That(kvm.CallsOf(CallbackKind.Release), Has.Count.EqualTo(1), "Release ran once, from exit");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public void Unregister_during_an_open_section_leaves_no_section_counted_open(CancellationToken cancellation)
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(8);
        mm.Populate(at, 8);
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);
        using var parked = kvm.ParkNext(CallbackKind.InvalidateRangeStart, cancellation);
        using var munmap = TestThread.Start("munmap", () => mm.Munmap(at, 8 * Hva.PageSize));
        Assert.That(parked.WaitEntered(TestHosts.MustHappen), Is.True, "the munmap parks inside the notifier's start");
        using var unregister = TestThread.Start("unregister", () => mm.UnregisterNotifier(kvm));
        Assert.That(unregister.WaitDone(TestHosts.BlockedProbe, cancellation), Is.False, "unregister waits for the parked start");

        parked.Open();
        unregister.Join(TestHosts.MustHappen, cancellation);
        munmap.Join(TestHosts.MustHappen, cancellation);

        Assert.Multiple(() =>
        {
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "the munmap's section ended, so none is open (I5)");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }
}
