using Hypervisor.GuestModel.Exploration;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory.Scheduling;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Exploration;

/// <summary>
/// A failing schedule replayed from its decisions is the same run as the explored one, step for step: what the
/// shrinker and every decision token rely on. Broken variants are where it matters (a violation stops the run).
/// </summary>
[TestFixture]
[NonParallelizable]
public class GuidedReplayTests
{
    [TestCase("free-before-invalidate")]
    [TestCase("no-in-progress-check")]
    [TestCase("legacy-invalidate-after-free")]
    [TestCase(null)]
    [CancelAfter(240_000)]
    public void A_schedule_replayed_from_its_decisions_takes_the_same_steps(string? mutation, CancellationToken token)
    {
        var result = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, "explore-invalidation.yaml"));
        Assert.That(result.Errors, Is.Empty, "explore-invalidation.yaml loads");
        var scenario = result.Scenario!;
        var options = new ExploreOptions { ScenarioPath = "config/scenarios/explore-invalidation.yaml", Mutation = mutation, Seed = scenario.Seed }
            .WithScenarioDefaults(scenario.Deterministic);
        for (var i = 0; i < 3; i++)
        {
            var explored = options.TokenFor(i);
            var first = ScheduleRun.Execute(scenario, explored, token, recordTrace: true);
            var guided = ScheduleRun.Execute(scenario, explored with { Strategy = ScheduleStrategyKind.Guided, Decisions = first.Decisions }, token,
                recordTrace: true);
            var a = first.Trace!;
            var b = guided.Trace!;
            var diverged = Enumerable.Range(0, Math.Min(a.Count, b.Count)).FirstOrDefault(k => a[k] != b[k], -1);
            Assert.That(diverged, Is.EqualTo(-1), $"schedule {i}: the replay leaves the explored run at step {diverged}: " +
                (diverged < 0 ? string.Empty : $"explored {a[diverged]}, replayed {b[diverged]}"));
            Assert.Multiple(() =>
            {
                Assert.That(b.Count, Is.EqualTo(a.Count), $"schedule {i}: as many steps");
                Assert.That(guided.Failed, Is.EqualTo(first.Failed), $"schedule {i}: the same verdict ({first.FirstKind})");
            });
        }
    }
}
