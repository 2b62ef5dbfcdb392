using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Notifiers;

/// <summary>Registering a notifier while an invalidation is in flight (rule 5, invariant I7).</summary>
public sealed class RegistrationTests
{
    [Test]
    [CancelAfter(30_000)]
    public void Register_during_an_in_flight_munmap_waits_for_it_and_the_new_notifier_never_sees_an_end_without_start(CancellationToken cancellation)
    {
        var (host, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(16);
        mm.Populate(at, 16);
        var log = new EventLog();
        var first = new RecordingNotifier("first", log);
        var second = new RecordingNotifier("second", log);
        mm.RegisterNotifier(first);
        using var parked = first.ParkNext(CallbackKind.InvalidateRangeStart, cancellation);

        using var munmap = TestThread.Start("munmap", () => mm.Munmap(at, 8 * Hva.PageSize));
        Assert.That(parked.WaitEntered(TestHosts.MustHappen), Is.True, "the munmap reaches the first notifier's start");
        using var register = TestThread.Start("register", () =>
        {
            mm.RegisterNotifier(second);
            log.Mark("test", "register returned");
        });

        var returnedWhileBlocked = register.WaitDone(TestHosts.BlockedProbe, cancellation);
        var secondCallsWhileBlocked = second.Calls.Count;
        parked.Open();
        munmap.Join(TestHosts.MustHappen, cancellation);
        register.Join(TestHosts.MustHappen, cancellation);

        var firstEnd = first.CallsOf(CallbackKind.InvalidateRangeEnd).Single();
        Assert.Multiple(() =>
        {
            Assert.That(returnedWhileBlocked, Is.False, "RegisterNotifier takes the mmap write lock, so it waits for the munmap");
            Assert.That(secondCallsWhileBlocked, Is.Zero, "the new notifier got nothing while it was not registered");
            Assert.That(firstEnd.Sequence, Is.LessThan(log.MarkerNamed("register returned").Sequence),
                $"the munmap's end ran before registration completed:\n{log.Dump()}");
            Assert.That(second.Calls, Is.Empty, "the new notifier saw no half of the in-flight munmap (no end without its start)");
        });

        Assert.That(mm.MadviseDontNeed(at.AddPages(8), 8 * Hva.PageSize), Is.EqualTo(HostStatus.Ok), "a later madvise succeeds");
        Assert.Multiple(() =>
        {
            Assert.That(second.Calls.Select(c => c.Kind), Is.EqualTo(new[] { CallbackKind.InvalidateRangeStart, CallbackKind.InvalidateRangeEnd }),
                "after registration the new notifier gets whole sections");
            Assert.That(mm.Notifiers.OpenSections, Is.Zero, "every section is closed");
            Assert.That(host.Violations.Total, Is.Zero, "no violations");
        });
    }

    [Test]
    public void Registering_the_same_notifier_twice_is_refused()
    {
        var (_, mm) = TestHosts.WithSpace();
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);

        Assert.That(() => mm.RegisterNotifier(kvm), Throws.InvalidOperationException, "a notifier is subscribed at most once per address space");
        Assert.That(mm.Notifiers.Count, Is.EqualTo(1), "the chain still holds one subscription");
    }

    [Test]
    public void Registering_on_an_exited_address_space_is_refused()
    {
        var (_, mm) = TestHosts.WithSpace();
        mm.Exit();

        Assert.That(() => mm.RegisterNotifier(new RecordingNotifier("late", new EventLog())), Throws.InvalidOperationException,
            "mmu_notifier_register needs a live mm (mm_users > 0)");
    }
}
