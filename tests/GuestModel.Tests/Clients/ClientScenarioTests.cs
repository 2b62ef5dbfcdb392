using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Clients;

/// <summary>
/// The scenarios that declare other secondary MMUs beside the guests' VMs run clean, every client takes part, and
/// each client's broken variant is caught in its scenario.
/// </summary>
[TestFixture]
[NonParallelizable]
public class ClientScenarioTests
{
    private static Scenario Load(string file)
    {
        var result = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, file));
        Assert.That(result.Errors, Is.Empty, $"{file} loads");
        return result.Scenario!;
    }

    private static RunSummary Run(string file, string? mutation, TimeSpan duration, CancellationToken token, ulong? seed = null) =>
        new ScenarioRunner().Run(Load(file), new RunOptions { Mutation = mutation, Duration = duration, Seed = seed }, token);

    [TestCase("gpu-mirror.yaml", "hmm-mirror", 1)]
    [TestCase("double-map.yaml", "hmm-mirror", 2)]
    [TestCase("gru.yaml", "gru-tlb", 1)]
    [TestCase("xpmem.yaml", "xpmem-export", 1)]
    [CancelAfter(60_000)]
    public void A_client_scenario_runs_clean_with_every_client_invalidated_and_faulting(string file, string kind, int clients, CancellationToken token)
    {
        var summary = Run(file, null, TimeSpan.FromSeconds(2), token);
        static bool AllHappened(RunSummary s) => s.Totals.Faults > 0
            && s.Clients.All(c => c.Invalidations > 0 && c.Faults > 0 && c.CoherenceChecks > 0);
        if (summary.Violations.Total == 0 && !AllHappened(summary))
        {
            // A starved machine can leave a client without a single invalidation in 2 s: that is not a coherence
            // failure, so the run is repeated longer (a violation in the first run still fails the test below).
            TestContext.Out.WriteLine("not every client was invalidated and faulted in 2 s; running 6 s");
            summary = Run(file, null, TimeSpan.FromSeconds(6), token);
        }

        foreach (var c in summary.Clients)
        {
            TestContext.Out.WriteLine(c.ToString());
        }

        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero,
                "no violation: " + string.Join("; ", summary.Violations.First.Select(f => $"{f.Kind}: {f.Detail}")));
            Assert.That(summary.Clients, Has.Count.EqualTo(clients), "every declared client is in the summary");
            Assert.That(summary.Clients.Select(c => c.Kind), Has.All.EqualTo(kind), "of the declared kind");
            Assert.That(summary.Clients.Select(c => c.Invalidations), Has.All.GreaterThan(0), "each was invalidated by the host");
            Assert.That(summary.Clients.Select(c => c.Faults), Has.All.GreaterThan(0), "and faulted pages in");
            Assert.That(summary.Clients.Select(c => c.CoherenceChecks), Has.All.GreaterThan(0), "and checked itself against the host");
            Assert.That(summary.Totals.Faults, Is.GreaterThan(0), "the guest's VM ran beside them");
        });
    }

    [TestCase("gpu-mirror.yaml", "hmm-no-set-seq")]
    [TestCase("gru.yaml", "gru-no-purge")]
    [TestCase("xpmem.yaml", "xpmem-no-ack-wait")]
    [TestCase("xpmem.yaml", "xpmem-no-seq-check")]
    [CancelAfter(60_000)]
    public void A_client_mutation_is_caught_in_its_scenario(string file, string mutation, CancellationToken token)
    {
        var summary = Run(file, mutation, TimeSpan.FromSeconds(3), token);
        for (var attempt = 1; attempt < 3 && summary.Violations.Total == 0; attempt++)
        {
            TestContext.Out.WriteLine($"{mutation}: not caught on seed {summary.Seed}, retrying on another seed");
            summary = Run(file, mutation, TimeSpan.FromSeconds(3), token, seed: summary.Seed + 1);
        }

        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.GreaterThan(0), $"{mutation} must be caught");
            Assert.That(summary.ExitCode, Is.EqualTo(1), "exit code 1");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public void The_OOM_reaper_meets_a_busy_mirror_that_refuses_and_reaps_on_a_later_attempt(CancellationToken token)
    {
        // Whether a reaper's attempt lands inside a device transfer is a race (four victims, each usually refuses).
        var summary = Run("oom-refusal.yaml", null, TimeSpan.FromSeconds(3), token);
        for (var attempt = 1; attempt < 3 && summary.Clients.Sum(c => c.Refusals) == 0; attempt++)
        {
            TestContext.Out.WriteLine($"no refusal on seed {summary.Seed}, retrying on another seed");
            summary = Run("oom-refusal.yaml", null, TimeSpan.FromSeconds(3), token, seed: summary.Seed + 1);
        }

        foreach (var c in summary.Clients)
        {
            TestContext.Out.WriteLine(c.ToString());
        }

        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero,
                "a refused range is left alone and retried: " + string.Join("; ", summary.Violations.First.Select(f => $"{f.Kind}: {f.Detail}")));
            Assert.That(summary.Clients.Sum(c => c.Refusals), Is.GreaterThan(0), "a reaper's non-blockable start met a device's busy mutex");
            Assert.That(summary.Host.GetValueOrDefault("refusedStarts"), Is.GreaterThan(0), "the host saw the start refused");
            Assert.That(summary.Host.GetValueOrDefault("oomReaps"), Is.EqualTo(4), "later attempts reaped every victim whole");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public void A_mirror_that_skips_a_busy_invalidation_instead_of_refusing_is_caught(CancellationToken token)
    {
        var summary = Run("oom-refusal.yaml", "hmm-skip-when-busy", TimeSpan.FromSeconds(3), token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Clients.Sum(c => c.Refusals), Is.Zero, "the broken mirrors never refuse");
            Assert.That(summary.Violations.Total, Is.GreaterThan(0), "the reaper freed pages the device still maps");
            Assert.That(summary.ExitCode, Is.EqualTo(1), "exit code 1");
        });
    }
}
