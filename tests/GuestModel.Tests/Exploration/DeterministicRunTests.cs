using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.HostMemory.Scheduling;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Exploration;

/// <summary>
/// A deterministic run is the same run every time: the same seed gives the same steps, the same events and the same
/// counters, because one thread runs at a time and time is virtual.
/// </summary>
[TestFixture]
[NonParallelizable]
public class DeterministicRunTests
{
    private static Scenario RaceHunt()
    {
        var result = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, "race-hunt.yaml"));
        Assert.That(result.Errors, Is.Empty, "race-hunt.yaml loads");
        return result.Scenario!;
    }

    private static (RunSummary Summary, ControlledScheduler Scheduler) Run(ulong seed, TimeSpan duration, bool record, CancellationToken token)
    {
        ControlledScheduler? used = null;
        var summary = new ScenarioRunner().Run(RaceHunt(), new RunOptions
        {
            Seed = seed,
            Duration = duration,
            Schedule = new ScheduleSettings
            {
                Scheduler = new ScheduleOptions { RecordTrace = record },
                Completed = s => used = s,
            },
        }, token);
        return (summary, used!);
    }

    [Test]
    [CancelAfter(300_000)]
    public void The_same_seed_twice_gives_identical_whole_traces(CancellationToken token)
    {
        var (first, a) = Run(7, TimeSpan.FromMilliseconds(30), record: true, token);
        var (second, b) = Run(7, TimeSpan.FromMilliseconds(30), record: true, token);
        TestContext.Out.WriteLine($"{a.Steps} steps, {a.Switches} switches, {a.ThreadNames.Count} threads, hash {a.TraceHash:x16}");
        Assert.Multiple(() =>
        {
            Assert.That(a.Abandoned, Is.False, a.AbandonReason ?? "control kept");
            Assert.That(a.Steps, Is.GreaterThan(10_000), "a real run, not an empty one");
            Assert.That(b.Trace, Is.EqualTo(a.Trace), "every step of every thread repeats");
            Assert.That(second.Schedule!.TraceHash, Is.EqualTo(first.Schedule!.TraceHash), "the summary's trace hash repeats");
            Assert.That(second.Totals, Is.EqualTo(first.Totals), "so do the counters");
            Assert.That(second.Host, Is.EqualTo(first.Host), "and the host's");
        });
    }
}
