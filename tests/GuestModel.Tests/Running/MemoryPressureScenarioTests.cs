using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// Reclaim, writeback, KSM and migration behind running guests: the shipped scenarios run clean and actually
/// exercise their mechanism, the dirty-bit variant loses guest writes the oracle sees, and the accessed-bit variant
/// is no violation (its cost, more swapping of hot pages, is measured in the shadow MMU's reclaim tests).
/// </summary>
[TestFixture]
[NonParallelizable]
public class MemoryPressureScenarioTests
{
    private static RunSummary Run(string file, TimeSpan duration, CancellationToken token, string? mutation = null)
    {
        var loaded = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, file));
        Assert.That(loaded.Errors, Is.Empty, $"{file} loads");
        return new ScenarioRunner().Run(loaded.Scenario!, new RunOptions { Duration = duration, Mutation = mutation }, token);
    }

    [TestCase("reclaim-pressure.yaml", "swapOuts")]
    [TestCase("reclaim-pressure.yaml", "swapIns")]
    [TestCase("writeback.yaml", "writebacks")]
    [TestCase("ksm-merge.yaml", "ksmMerges")]
    [TestCase("ksm-merge.yaml", "ksmUnmerges")]
    [TestCase("migration.yaml", "migrations")]
    [CancelAfter(60_000)]
    public void A_memory_pressure_scenario_runs_clean_and_exercises_its_mechanism(string file, string counter, CancellationToken token)
    {
        var summary = Run(file, TimeSpan.FromSeconds(3), token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero,
                "no violation: " + string.Join("; ", summary.Violations.First.Select(f => $"{f.Kind}: {f.Detail}")));
            Assert.That(summary.Host[counter], Is.GreaterThan(0), $"{file} must exercise {counter}");
            Assert.That(summary.Totals.Accesses, Is.GreaterThan(0), "the guests ran");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public void Host_activities_fire_on_schedule_while_aging_and_reclaim_run(CancellationToken token)
    {
        // quickstart ages every second, and its other activities need the mmap locks aging holds: an aging pass that
        // waited for a full TLB shootdown per young page held them for seconds and starved everything else.
        var summary = Run("quickstart.yaml", TimeSpan.FromSeconds(9), token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Host["forks"], Is.GreaterThanOrEqualTo(3), "forks at 1s, 4s and 7s");
            Assert.That(summary.Host["munmaps"], Is.GreaterThanOrEqualTo(4), "munmap-remap at 2s, 4s, 6s and 8s");
            Assert.That(summary.Host["hostWrites"], Is.GreaterThanOrEqualTo(4000), "500 host writes a second from 0.5s");
            Assert.That(summary.Host["migrations"], Is.GreaterThan(0), "migrate passes every second");
            Assert.That(summary.Host["agingScans"], Is.GreaterThan(0), "aging passes every second");
            Assert.That(summary.Violations.Total, Is.Zero, "no violation");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public void Dropping_the_shadow_dirty_bit_loses_guest_writes_to_a_file_backed_guest(CancellationToken token)
    {
        var summary = Run("writeback.yaml", TimeSpan.FromSeconds(5), token, "no-dirty-propagation");
        Assert.That(summary.Violations.ByKind.GetValueOrDefault("lost-write"), Is.GreaterThan(0),
            "a page cleaned and dropped while only its SPTE knew it was dirty reads back old data");
    }

    [Test]
    [CancelAfter(90_000)]
    public void Hiding_guest_accesses_from_aging_is_not_a_violation_but_aging_stops_hearing_from_the_guest(CancellationToken token)
    {
        var intact = Run("reclaim-pressure.yaml", TimeSpan.FromSeconds(3), token);
        var blind = Run("reclaim-pressure.yaml", TimeSpan.FromSeconds(3), token, "no-young-propagation");
        Assert.Multiple(() =>
        {
            Assert.That(blind.Violations.Total, Is.Zero, "losing accessed bits costs performance, not correctness");
            Assert.That(blind.Host["youngFromSecondary"], Is.Zero, "aging never hears from the shadow MMU");
            Assert.That(intact.Host["youngFromSecondary"], Is.GreaterThan(0), "with propagation it does");
        });
    }
}
