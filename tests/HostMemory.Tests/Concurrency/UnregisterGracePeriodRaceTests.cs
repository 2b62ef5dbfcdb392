using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Concurrency;

/// <summary>
/// Invariant I6 ("after unregister returns no callback of that notifier runs") against a dispatcher that never
/// stops: every round registers a fresh notifier, unregisters it, and from then on any callback it receives is
/// late. Absence of late callbacks within the time budget is a pass (a bounded search, not a proof).
/// </summary>
public sealed class UnregisterGracePeriodRaceTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    [Test]
    [CancelAfter(30_000)]
    public void No_callback_reaches_a_notifier_after_its_unregister_returned(CancellationToken cancellation)
    {
        var (_, mm) = TestHosts.WithSpace();
        var at = mm.MapAnon(16);
        mm.RegisterNotifier(new LateCallbackDetector()); // keeps the chain non-empty
        var range = new NotifierRange(at, at.AddPages(16), NotifierEvent.Clear, InvalidationCause.Other);
        var stop = 0;
        long dispatches = 0;
        using var dispatcher = TestThread.Start("dispatcher", () =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                mm.Notifiers.InvalidateRangeStart(range);
                mm.Notifiers.InvalidateRangeEnd(range);
                dispatches++;
            }
        });

        var rounds = 0;
        var deadline = DateTime.UtcNow + Budget;
        while (LateCallbackDetector.LateCalls == 0 && DateTime.UtcNow < deadline && !cancellation.IsCancellationRequested)
        {
            var victim = new LateCallbackDetector();
            mm.RegisterNotifier(victim);
            Thread.Yield();
            mm.UnregisterNotifier(victim);
            victim.MarkUnregistered();
            rounds++;
        }

        Volatile.Write(ref stop, 1);
        dispatcher.Join(TestHosts.MustHappen, cancellation);
        TestContext.Out.WriteLine($"{rounds} register/unregister rounds, {dispatches} start/end pairs, {LateCallbackDetector.LateCalls} late callbacks");
        Assert.That(LateCallbackDetector.LateCalls, Is.Zero, "a callback ran after UnregisterNotifier had returned (I6)");
    }

    private sealed class LateCallbackDetector : IMmuNotifier
    {
        private static long _lateCalls;
        private int _unregistered;

        public static long LateCalls => Interlocked.Read(ref _lateCalls);

        public void MarkUnregistered() => Volatile.Write(ref _unregistered, 1);

        public void Release(AddressSpace mm) => Check();

        public bool InvalidateRangeStart(AddressSpace mm, in NotifierRange range)
        {
            Check();
            return true;
        }

        public void InvalidateRangeEnd(AddressSpace mm, in NotifierRange range) => Check();

        public void InvalidatePage(AddressSpace mm, Hva hva, InvalidationCause cause) => Check();

        public bool ClearFlushYoung(AddressSpace mm, Hva start, Hva end) => false;

        public bool ClearYoung(AddressSpace mm, Hva start, Hva end) => false;

        public bool TestYoung(AddressSpace mm, Hva hva) => false;

        private void Check()
        {
            if (Volatile.Read(ref _unregistered) != 0)
            {
                Interlocked.Increment(ref _lateCalls);
            }
        }
    }
}
