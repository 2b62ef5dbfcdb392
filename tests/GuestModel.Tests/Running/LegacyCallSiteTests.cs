using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.HostMemory.Notifiers;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Running;

/// <summary>
/// The two 2008 call sites that left the kernel with their mappings: <c>__xip_unmap</c> (xip.yaml) and
/// <c>try_to_unmap_cluster</c> (nonlinear-reclaim.yaml). Each scenario runs clean, and the broken variant of each
/// call site is caught by the oracle.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class LegacyCallSiteTests
{
    private static RunSummary Run(string file, string? mutation, NotifierProfile? profile, CancellationToken token)
    {
        var loaded = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, file));
        Assert.That(loaded.Errors, Is.Empty, $"{file} loads");
        return new ScenarioRunner().Run(loaded.Scenario!,
            new RunOptions { Mutation = mutation, Duration = TimeSpan.FromSeconds(3), Profile = profile }, token);
    }

    private static string Describe(RunSummary summary) =>
        string.Join("; ", summary.Violations.First.Select(f => $"{f.Kind}: {f.Detail}"));

    [TestCase("xip.yaml", NotifierProfile.Modern, "xipUnmaps")]
    [TestCase("xip.yaml", NotifierProfile.Legacy2008, "xipUnmaps")]
    [TestCase("nonlinear-reclaim.yaml", NotifierProfile.Legacy2008, "clusterUnmaps")]
    [CancelAfter(60_000)]
    public void The_call_site_runs_clean(string file, NotifierProfile profile, string counter, CancellationToken token)
    {
        var summary = Run(file, null, profile, token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.Zero, "no violation: " + Describe(summary));
            Assert.That(summary.Host.TryGetValue(counter, out var n) ? n : 0, Is.GreaterThan(0), $"the call site ran ({counter})");
        });
    }

    [TestCase("xip.yaml", "xip-unmap-without-notify")]
    [TestCase("nonlinear-reclaim.yaml", "cluster-range-one-page")]
    [CancelAfter(60_000)]
    public void The_broken_call_site_is_caught(string file, string mutation, CancellationToken token)
    {
        var summary = Run(file, mutation, null, token);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Violations.Total, Is.GreaterThan(0), $"{mutation} must be caught");
            Assert.That(summary.ExitCode, Is.EqualTo(1), "exit code 1 when violations were found");
        });
    }
}
