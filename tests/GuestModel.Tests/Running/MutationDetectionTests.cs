using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.HostMemory.Notifiers;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// The oracle's verdict is worth something only if it is silent on the correct protocol and fires on every broken
/// variant. Both sides run race-hunt.yaml through the real runner.
/// </summary>
[TestFixture]
[NonParallelizable]
public class MutationDetectionTests
{
    /// <summary>Variants the checkers catch within a few seconds of race-hunt.</summary>
    private static readonly string[] QuickMutations =
    [
        "no-seq-check", "no-in-progress-check", "seq-after-gup", "no-tlb-flush", "no-zap", "no-release", "unregister-without-wait",
        "legacy-invalidate-after-free", "free-before-invalidate", "end-order-swapped", "table-free-before-flush",
        "rmap-walk-without-ptl",
    ];

    private static Scenario RaceHunt()
    {
        var result = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, "race-hunt.yaml"));
        Assert.That(result.Errors, Is.Empty, "race-hunt.yaml loads");
        return result.Scenario!;
    }

    private static RunSummary Run(string? mutation, TimeSpan duration, CancellationToken token, NotifierProfile? profile = null,
        ulong? seed = null) =>
        new ScenarioRunner().Run(RaceHunt(), new RunOptions { Mutation = mutation, Duration = duration, Profile = profile, Seed = seed }, token);

    [TestCase(NotifierProfile.Modern)]
    [TestCase(NotifierProfile.Legacy2008, Explicit = true, Reason = "Known defect: about one quiet 5 s legacy2008 run in six "
        + "reports write-to-write-protected (a store into a watched frame whose host PTE is already gone, in the window "
        + "between a legacy PTE clear and its invalidate_page); README, Known defects")]
    [CancelAfter(60_000)]
    public void The_intact_protocol_runs_race_hunt_without_a_violation(NotifierProfile profile, CancellationToken token)
    {
        var summary = Run(null, TimeSpan.FromSeconds(5), token, profile);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero,
                "no violation: " + string.Join("; ", summary.Violations.First.Select(f => $"{f.Kind}: {f.Detail}")));
            Assert.That(summary.Totals.Faults, Is.GreaterThan(0), "the vCPUs faulted");
            Assert.That(summary.Totals.FaultRetries, Is.GreaterThan(0), "races made faults retry");
            Assert.That(summary.Totals.Invalidations, Is.GreaterThan(0), "the host invalidated");
            Assert.That(summary.ExitCode, Is.Zero, "exit code 0 when clean");
        });
    }

    [TestCaseSource(nameof(QuickMutations))]
    [CancelAfter(60_000)]
    public void A_broken_variant_is_caught_by_the_checkers(string mutation, CancellationToken token)
    {
        // Detection is a matter of interleavings: most variants are caught thousands of times in a run, but
        // unregister-without-wait only when a callback is in flight at the unregister (one to six times in 4 s).
        // A miss is retried on another seed, up to three runs in all; a checker that never fires still fails.
        var summary = Run(mutation, TimeSpan.FromSeconds(4), token);
        for (var attempt = 1; attempt < 3 && summary.Violations.Total == 0; attempt++)
        {
            TestContext.Out.WriteLine($"{mutation}: not caught on seed {summary.Seed}, retrying on another seed");
            summary = Run(mutation, TimeSpan.FromSeconds(4), token, seed: summary.Seed + 1);
        }

        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.GreaterThan(0), $"{mutation} must be caught");
            Assert.That(summary.ExitCode, Is.EqualTo(1), "exit code 1 when violations were found");
            Assert.That(summary.Mutation, Is.EqualTo(mutation), "the summary names the variant");
        });
    }
}
