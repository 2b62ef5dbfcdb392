using Hypervisor.HostMemory.AddressSpaces;
using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.HostMemory.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Concurrency;

/// <summary>
/// A short mixed workload on one address space: accessors fault, write and pin pages while a mutator forks,
/// zaps and write-protects. Whatever the interleaving, nothing may be violated and everything must balance.
/// </summary>
public sealed class ConcurrencySmokeTests
{
    private const ulong Pages = 256;
    private const int Seed = 20_080_117;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(2);

    [TestCase(Seed)]
    [CancelAfter(60_000)]
    public void Accessors_racing_fork_madvise_and_mprotect_leave_no_violation_and_no_leak(int seed, CancellationToken cancellation)
    {
        TestContext.Out.WriteLine($"seed {seed}");
        var (host, mm) = TestHosts.WithSpace(ramBytes: 32L << 20);
        var at = mm.MapAnon(Pages);
        var kvm = new RecordingNotifier("kvm", new EventLog());
        mm.RegisterNotifier(kvm);
        var stop = 0;
        var unexpected = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var operations = new long[3];

        void Accessor(int index)
        {
            var rng = new Random(seed + index);
            var site = new AccessSite($"accessor{index}", index, 0);
            while (Volatile.Read(ref stop) == 0 && !cancellation.IsCancellationRequested)
            {
                var hva = at.AddPages((ulong)rng.Next((int)Pages));
                HostStatus status;
                switch (rng.Next(3))
                {
                    case 0:
                        status = mm.HostWrite(hva, (ulong)rng.NextInt64());
                        break;
                    case 1:
                        status = mm.HostRead(hva, out _);
                        break;
                    default:
                        var gup = mm.GetUserPages(hva, write: rng.Next(2) == 0);
                        status = gup.Status;
                        if (gup.Status == HostStatus.Ok)
                        {
                            _ = mm.Host.Memory.Read(gup.Pfn, site); // the pinned frame cannot be freed under us
                            mm.Host.Memory.Put(gup.Pfn);
                        }

                        break;
                }

                if (status is not (HostStatus.Ok or HostStatus.AccessDenied))
                {
                    unexpected.Enqueue($"accessor{index}: {status} at {hva}");
                }

                operations[index]++;
            }
        }

        void Mutator()
        {
            var rng = new Random(seed + 100);
            for (var cycle = 0; Volatile.Read(ref stop) == 0 && !cancellation.IsCancellationRequested; cycle++)
            {
                var first = (ulong)rng.Next((int)Pages - 16);
                var length = (ulong)rng.Next(1, 16) * Hva.PageSize;
                var status = (cycle % 3) switch
                {
                    0 => ForkWriteAndExit(mm, at, rng),
                    1 => mm.MadviseDontNeed(at.AddPages(first), length),
                    _ => ProtectAndRestore(mm, at.AddPages(first), length),
                };
                if (status != HostStatus.Ok)
                {
                    unexpected.Enqueue($"mutator cycle {cycle}: {status}");
                }

                operations[2]++;
            }
        }

        using var a0 = TestThread.Start("accessor0", () => Accessor(0));
        using var a1 = TestThread.Start("accessor1", () => Accessor(1));
        using var mutator = TestThread.Start("mutator", Mutator);
        cancellation.WaitHandle.WaitOne(Duration);
        Volatile.Write(ref stop, 1);
        a0.Join(TestHosts.MustHappen, cancellation);
        a1.Join(TestHosts.MustHappen, cancellation);
        mutator.Join(TestHosts.MustHappen, cancellation);
        TestContext.Out.WriteLine($"operations: accessor0 {operations[0]}, accessor1 {operations[1]}, mutator {operations[2]}");

        var openSections = mm.Notifiers.OpenSections;
        var unbalanced = UnbalancedSections(kvm.Calls);
        mm.Exit();

        Assert.Multiple(() =>
        {
            Assert.That(operations, Has.All.GreaterThan(0), "every thread got work done");
            Assert.That(unexpected, Is.Empty, "only Ok, or AccessDenied during a write-protect window, is a valid result");
            Assert.That(host.Violations.ByKind(), Is.Empty, "no violation of any kind");
            Assert.That(openSections, Is.Zero, "no start/end section is left open");
            Assert.That(unbalanced, Is.Empty, "on every thread each end closes the start opened last, with the same range");
            Assert.That(kvm.CallsOf(CallbackKind.Release), Has.Count.EqualTo(1), "exit released the notifier once");
            Assert.That(host.Memory.FreeFrames, Is.EqualTo(host.Memory.TotalFrames - 1), "every frame is free once everything exited");
        });
    }

    private static HostStatus ForkWriteAndExit(AddressSpace mm, Hva at, Random rng)
    {
        var child = mm.Fork("child");
        var status = HostStatus.Ok;
        for (var i = 0; i < 4 && status is HostStatus.Ok or HostStatus.AccessDenied; i++)
        {
            status = child.HostWrite(at.AddPages((ulong)rng.Next((int)Pages)), 0xC41D);
        }

        child.Exit();
        return status == HostStatus.AccessDenied ? HostStatus.Ok : status;
    }

    private static HostStatus ProtectAndRestore(AddressSpace mm, Hva start, ulong length)
    {
        var status = mm.Mprotect(start, length, Protection.Read);
        Thread.Yield();
        return status == HostStatus.Ok ? mm.Mprotect(start, length, Protection.ReadWrite) : status;
    }

    /// <summary>Ends that do not close the innermost open start of their thread, and starts never closed.</summary>
    private static List<string> UnbalancedSections(IReadOnlyList<NotifierCall> calls)
    {
        var problems = new List<string>();
        foreach (var thread in calls.Where(c => c.IsRangeCallback).GroupBy(c => c.ThreadId))
        {
            var open = new Stack<NotifierCall>();
            foreach (var call in thread)
            {
                if (call.Kind == CallbackKind.InvalidateRangeStart)
                {
                    open.Push(call);
                }
                else if (!open.TryPop(out var start) || (start.Start, start.End, start.Event) != (call.Start, call.End, call.Event))
                {
                    problems.Add($"unmatched {call}");
                }
            }

            problems.AddRange(open.Select(s => $"never ended: {s}"));
        }

        return problems;
    }
}
