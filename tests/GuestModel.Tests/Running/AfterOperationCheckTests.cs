using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// With <see cref="RunOptions.CheckAfterOps"/>, every munmap, madvise and mprotect is followed by a check that no SPTE
/// and no vCPU TLB entry still maps what the host no longer maps: silent on the intact protocol, and it names the
/// variant that leaves translations behind.
/// </summary>
[TestFixture]
[NonParallelizable]
public class AfterOperationCheckTests
{
    private static RunSummary Run(string file, string? mutation, CancellationToken token)
    {
        var loaded = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, file));
        Assert.That(loaded.Errors, Is.Empty, $"{file} loads");
        return new ScenarioRunner().Run(loaded.Scenario!,
            new RunOptions { Duration = TimeSpan.FromSeconds(2), Mutation = mutation, CheckAfterOps = true }, token);
    }

    [TestCase("teardown-race.yaml")]
    [TestCase("write-protect.yaml")]
    [CancelAfter(60_000)]
    public void The_intact_protocol_leaves_nothing_mapped_after_an_operation(string file, CancellationToken token)
    {
        var summary = Run(file, null, token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero,
                "no violation: " + string.Join("; ", summary.Violations.First.Select(f => $"{f.Kind}: {f.Detail}")));
            Assert.That(summary.Guests.Sum(g => g.AfterOperationChecks), Is.GreaterThan(5), "every operation was checked");
        });
    }

    [TestCase("teardown-race.yaml", "no-tlb-flush")]
    [TestCase("teardown-race.yaml", "no-zap")]
    [TestCase("write-protect.yaml", "no-zap")]
    [CancelAfter(60_000)]
    public void A_translation_left_behind_is_found_once_the_operation_returned(string file, string mutation, CancellationToken token)
    {
        var summary = Run(file, mutation, token);
        Assert.That(summary.Violations.ByKind.GetValueOrDefault("mapped-after-operation"), Is.GreaterThan(0),
            $"{mutation} on {file}: an SPTE or TLB entry still maps the range after the operation returned");
    }
}
