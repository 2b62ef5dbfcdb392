using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// write-protect.yaml has one activity, mprotect: the write-permission oracle must be silent on the intact protocol
/// and catch, as write-to-write-protected, each variant that leaves a vCPU a writable translation after the host
/// took write access away.
/// </summary>
[TestFixture]
[NonParallelizable]
public class WriteProtectScenarioTests
{
    private static RunSummary Run(string? mutation, CancellationToken token)
    {
        var loaded = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, "write-protect.yaml"));
        Assert.That(loaded.Errors, Is.Empty, "write-protect.yaml loads");
        Assert.That(loaded.Scenario!.Activities.All(a => a.Kind == "mprotect"), Is.True, "mprotect is its only activity");
        return new ScenarioRunner().Run(loaded.Scenario, new RunOptions { Duration = TimeSpan.FromSeconds(2), Mutation = mutation }, token);
    }

    [Test]
    [CancelAfter(60_000)]
    public void The_intact_protocol_never_stores_into_a_write_protected_page(CancellationToken token)
    {
        var summary = Run(null, token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero,
                "no violation: " + string.Join("; ", summary.Violations.First.Select(f => $"{f.Kind}: {f.Detail}")));
            Assert.That(summary.Host["mprotects"], Is.GreaterThan(10), "the host write-protected the range again and again");
            Assert.That(summary.Totals.HostFaultExits, Is.GreaterThan(0), "stores in the read-only windows faulted to the VMM");
        });
    }

    [TestCase("no-tlb-flush")]
    [TestCase("no-zap")]
    [CancelAfter(60_000)]
    public void A_writable_translation_left_behind_by_mprotect_is_caught(string mutation, CancellationToken token)
    {
        var summary = Run(mutation, token);
        Assert.That(summary.Violations.ByKind.GetValueOrDefault("write-to-write-protected"), Is.GreaterThan(0),
            $"{mutation}: a store through the stale entry lands in a page the host maps read-only");
    }
}
