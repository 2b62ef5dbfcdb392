using Hypervisor.HostMemory.Scheduling;
using NUnit.Framework;

namespace Hypervisor.HostMemory.Tests.Scheduling;

/// <summary>
/// The controlled scheduler on small programs: one thread at a time, the same seed gives the same steps, a racy
/// read-modify-write is found on purpose, and a recorded schedule replays exactly.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
[NonParallelizable]
public class ControlledSchedulerTests
{
    private sealed class Counter
    {
        public readonly ProtocolLock Lock = new("counter_lock");
        public int Value;
        public int Running;
        public int MaxRunning;
    }

    /// <summary>Two threads each add one <paramref name="rounds"/> times, racily (load, point, store) unless locked.</summary>
    private static (int Value, int MaxRunning, ControlledScheduler Scheduler) RunIncrements(ScheduleOptions options, bool locked, int rounds = 20)
    {
        var counter = new Counter();
        var scheduler = new ControlledScheduler(options);
        var value = scheduler.RunMain("main", () =>
        {
            var threads = Enumerable.Range(0, 2).Select(i => SchedulingPoint.CreateThread($"adder{i}", () =>
            {
                for (var r = 0; r < rounds; r++)
                {
                    // A stretch without scheduling points: two threads inside it at once would be running together.
                    var running = Interlocked.Increment(ref counter.Running);
                    Thread.SpinWait(2000);
                    counter.MaxRunning = Math.Max(counter.MaxRunning, running);
                    Interlocked.Decrement(ref counter.Running);
                    if (locked)
                    {
                        counter.Lock.Enter();
                    }

                    var seen = counter.Value;
                    SchedulingPoint.Window("load→store");
                    counter.Value = seen + 1;
                    if (locked)
                    {
                        counter.Lock.Exit();
                    }

                    SchedulingPoint.Step("round");
                }
            })).ToList();
            threads.ForEach(SchedulingPoint.Start);
            threads.ForEach(SchedulingPoint.Join);
            return counter.Value;
        });
        scheduler.Dispose();
        return (value, counter.MaxRunning, scheduler);
    }

    [Test]
    public void Only_one_controlled_thread_runs_at_a_time()
    {
        var (_, maxRunning, scheduler) = RunIncrements(new ScheduleOptions { Seed = 7, SwitchProbability = 0.5 }, locked: false);
        Assert.Multiple(() =>
        {
            Assert.That(maxRunning, Is.EqualTo(1), "no two threads were ever between their increment and decrement at once");
            Assert.That(scheduler.Switches, Is.GreaterThan(2), "the turn did pass between threads");
            Assert.That(scheduler.Abandoned, Is.False, scheduler.AbandonReason ?? "control was kept to the end");
        });
    }

    [Test]
    public void The_same_seed_gives_the_same_steps_and_hash()
    {
        var options = new ScheduleOptions { Seed = 11, SwitchProbability = 0.3, RecordTrace = true };
        var first = RunIncrements(options, locked: true).Scheduler;
        var second = RunIncrements(options, locked: true).Scheduler;
        var other = RunIncrements(options with { Seed = 12 }, locked: true).Scheduler;
        Assert.Multiple(() =>
        {
            Assert.That(second.Trace, Is.EqualTo(first.Trace), "the whole trace repeats");
            Assert.That(second.TraceHash, Is.EqualTo(first.TraceHash), "so does its hash");
            Assert.That(other.TraceHash, Is.Not.EqualTo(first.TraceHash), "another seed interleaves differently");
        });
    }

    [TestCase(ScheduleStrategyKind.Random)]
    [TestCase(ScheduleStrategyKind.Pct)]
    public void A_lost_update_is_found_and_the_locked_version_never_loses_one(ScheduleStrategyKind strategy)
    {
        int? racySeed = null;
        for (var seed = 1; seed <= 50 && racySeed is null; seed++)
        {
            var options = new ScheduleOptions { Seed = (ulong)seed, Strategy = strategy, ExpectedSteps = 200, Depth = 2 };
            if (RunIncrements(options, locked: false).Value != 40)
            {
                racySeed = seed;
            }

            Assert.That(RunIncrements(options, locked: true).Value, Is.EqualTo(40), $"the lock keeps every update (seed {seed})");
        }

        Assert.That(racySeed, Is.Not.Null, $"{strategy} finds the unlocked lost update within 50 schedules");
    }

    [Test]
    public void Recorded_decisions_replay_the_same_interleaving()
    {
        var original = RunIncrements(new ScheduleOptions { Seed = 5, SwitchProbability = 0.4 }, locked: false);
        var decisions = original.Scheduler.Decisions.ToList();
        for (var i = 0; i < 3; i++)
        {
            var replay = RunIncrements(new ScheduleOptions { Strategy = ScheduleStrategyKind.Guided, Decisions = decisions }, locked: false);
            Assert.Multiple(() =>
            {
                Assert.That(replay.Scheduler.TraceHash, Is.EqualTo(original.Scheduler.TraceHash), "the replay takes the same steps");
                Assert.That(replay.Value, Is.EqualTo(original.Value), "and ends with the same value");
            });
        }
    }

    [Test]
    public void Sleeps_move_virtual_time_only_when_every_thread_waits()
    {
        var scheduler = new ControlledScheduler(new ScheduleOptions { Seed = 3, StepTicks = 0 });
        var woke = new List<(string, long)>();
        scheduler.RunMain("main", () =>
        {
            var threads = new[] { ("a", 30), ("b", 10), ("c", 20) }.Select(p => SchedulingPoint.CreateThread(p.Item1, () =>
            {
                SchedulingPoint.Sleep(TimeSpan.FromMilliseconds(p.Item2), "nap");
                woke.Add((p.Item1, scheduler.Time.Ticks));
            })).ToList();
            threads.ForEach(SchedulingPoint.Start);
            threads.ForEach(SchedulingPoint.Join);
            return 0;
        });
        scheduler.Dispose();
        Assert.That(woke, Is.EqualTo(new[] { ("b", 100_000L), ("c", 200_000L), ("a", 300_000L) }),
            "each sleeper wakes at its own virtual time, in time order, with no wall-clock wait");
    }

    [Test]
    public void A_free_running_process_takes_no_scheduling_decisions()
    {
        Assert.That(SchedulingPoint.IsControlled, Is.False, "the test thread is not controlled");
        var latch = new ProtocolLock("free");
        using (latch.EnterScope())
        {
            SchedulingPoint.Window("nothing happens");
            Assert.That(latch.IsHeldByCurrentThread, Is.True, "a plain monitor when no scheduler runs");
        }
    }
}
