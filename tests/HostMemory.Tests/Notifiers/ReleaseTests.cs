using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Notifiers;

/// <summary><c>Release</c>: at least once, at most once per subscription, and before the address space frees pages.</summary>
public sealed class ReleaseTests
{
    [Test]
    public void Exit_then_unregister_calls_release_once_before_the_frames_are_freed()
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);
        mm.Populate(at, 4);
        var pfn = mm.PfnAt(at);
        var kvm = new RecordingNotifier("kvm", new EventLog()).Watch(pfn);
        mm.RegisterNotifier(kvm);

        mm.Exit();
        mm.UnregisterNotifier(kvm);

        var releases = kvm.CallsOf(CallbackKind.Release);
        Assert.Multiple(() =>
        {
            Assert.That(releases, Has.Count.EqualTo(1), "Release is idempotent across exit and unregister");
            Assert.That(releases[0].Frame(pfn).IsFree, Is.False, "Release runs before exit frees the pages");
            Assert.That(host.Memory.IsFree(pfn), Is.True, "the frame is free after exit");
        });
    }

    [Test]
    public void Every_notifier_is_released_once_at_exit()
    {
        var (_, mm) = TestHosts.WithSpace();
        var log = new EventLog();
        var notifiers = Enumerable.Range(0, 3).Select(i => new RecordingNotifier($"n{i}", log)).ToList();
        notifiers.ForEach(mm.RegisterNotifier);

        mm.Exit();

        Assert.Multiple(() =>
        {
            foreach (var n in notifiers)
            {
                Assert.That(n.Calls.Select(c => c.Kind), Is.EqualTo(new[] { CallbackKind.Release }), $"{n} gets exactly one Release");
            }

            Assert.That(mm.Notifiers.HasNotifiers, Is.False, "exit unhashes every notifier");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public void Exit_does_not_free_pages_while_a_release_started_by_unregister_is_still_running(CancellationToken cancellation)
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(4);
        mm.Populate(at, 4);
        var pfn = mm.PfnAt(at);
        var kvm = new RecordingNotifier("kvm", new EventLog()).Watch(pfn);
        mm.RegisterNotifier(kvm);
        using var parked = kvm.ParkNext(CallbackKind.Release, cancellation);
        using var unregister = TestThread.Start("unregister", () => mm.UnregisterNotifier(kvm));
        Assert.That(parked.WaitEntered(TestHosts.MustHappen), Is.True, "unregister parks inside Release");

        using var exit = TestThread.Start("exit", mm.Exit);
        Assert.That(SpinWait.SpinUntil(() => mm.Users == 0, TestHosts.MustHappen), Is.True, "exit has begun (dropped the last user)");
        var exitedWhileReleasing = exit.WaitDone(TestHosts.BlockedProbe, cancellation);
        var freedWhileReleasing = host.Memory.IsFree(pfn);
        parked.Open();
        exit.Join(TestHosts.MustHappen, cancellation);
        // Whether unregister itself survives the race is the next test's subject; here only exit's waiting matters.
        Assert.That(unregister.WaitDone(TestHosts.MustHappen, cancellation), Is.True, "unregister finishes once Release returns");

        Assert.Multiple(() =>
        {
            Assert.That(exitedWhileReleasing, Is.False, "exit waits for the grace period that covers the running Release");
            Assert.That(freedWhileReleasing, Is.False, "no page is freed while a Release is still running (the synchronize_srcu in mn_hlist_release)");
            Assert.That(kvm.CallsOf(CallbackKind.Release), Has.Count.EqualTo(1), "exit does not call Release a second time");
            Assert.That(host.Memory.IsFree(pfn), Is.True, "exit freed the page afterwards");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public void Unregister_racing_with_exit_returns_normally_after_exit_unhashed_the_notifier(CancellationToken cancellation)
    {
        var (host, mm) = TestHosts.WithSpace();
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);
        using var parked = kvm.ParkNext(CallbackKind.Release, cancellation);
        using var unregister = TestThread.Start("unregister", () => mm.UnregisterNotifier(kvm));
        Assert.That(parked.WaitEntered(TestHosts.MustHappen), Is.True, "unregister parks inside Release");
        using var exit = TestThread.Start("exit", mm.Exit);
        Assert.That(exit.WaitDone(TestHosts.BlockedProbe, cancellation), Is.False, "exit waits for the running Release");

        parked.Open();
        exit.Join(TestHosts.MustHappen, cancellation);

        Assert.Multiple(() =>
        {
            Assert.That(() => unregister.Join(TestHosts.MustHappen, cancellation), Throws.Nothing,
                "unregister and exit may race (the kernel's release can run from both); unregister must not fail");
            Assert.That(kvm.CallsOf(CallbackKind.Release), Has.Count.EqualTo(1), "Release ran once");
            Assert.That(mm.Notifiers.HasNotifiers, Is.False, "the notifier is unhashed");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void No_release_mutation_frees_frames_while_the_notifier_was_never_told()
    {
        var (host, mm) = TestHosts.WithSpace(mutations: HostMutations.NoRelease);
        var at = mm.MapAnon(4);
        mm.Populate(at, 4);
        var pfn = mm.PfnAt(at);
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);

        mm.Exit();

        Assert.Multiple(() =>
        {
            Assert.That(kvm.CallsOf(CallbackKind.Release), Is.Empty, "the broken variant never calls Release");
            Assert.That(host.Memory.IsFree(pfn), Is.True, "yet the frames the secondary may still map are freed (I12/I1 broken, observably)");
        });
    }
}
