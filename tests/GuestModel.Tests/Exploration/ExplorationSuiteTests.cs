using System.Diagnostics;
using Hypervisor.GuestModel.Exploration;
using Hypervisor.GuestModel.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Exploration;

/// <summary>
/// Mutation detection made deterministic: <c>explore</c> finds every broken variant within 30 seconds with a token
/// that replays to the same violation, and the intact protocol survives ten thousand race-hunt schedules. Long: run
/// with <c>dotnet test tests/GuestModel.Tests --filter TestCategory=Exploration</c>.
/// </summary>
[TestFixture]
[Category("Exploration")]
[Explicit("long: tens of minutes; run with --filter TestCategory=Exploration")]
[NonParallelizable]
public class ExplorationSuiteTests
{
    /// <summary>Each variant with the scenario that exercises it (no-young-propagation has no violation by design).</summary>
    private static readonly (string Mutation, string Scenario)[] Variants =
    [
        ("no-seq-check", "race-hunt.yaml"), ("no-in-progress-check", "race-hunt.yaml"), ("seq-after-gup", "race-hunt.yaml"),
        ("no-tlb-flush", "race-hunt.yaml"), ("no-zap", "race-hunt.yaml"), ("no-release", "race-hunt.yaml"),
        ("unregister-without-wait", "race-hunt.yaml"), ("legacy-invalidate-after-free", "race-hunt.yaml"),
        ("free-before-invalidate", "race-hunt.yaml"), ("end-order-swapped", "race-hunt.yaml"), ("table-free-before-flush", "race-hunt.yaml"),
        ("rmap-walk-without-ptl", "race-hunt.yaml"), ("register-without-pin", "reregister-exit.yaml"),
        ("no-dirty-propagation", "writeback.yaml"), ("xip-unmap-without-notify", "xip.yaml"), ("cluster-range-one-page", "nonlinear-reclaim.yaml"),
        ("no-gpt-write-protect", "shadow-paging.yaml"), ("rmap-zaps-one-alias", "shadow-paging.yaml"), ("no-invlpg-flush", "shadow-paging.yaml"),
        ("table-free-no-sync", "lockless-walkers.yaml"), ("walker-counter-no-barrier", "lockless-walkers.yaml"),
        ("hmm-no-set-seq", "gpu-mirror.yaml"), ("gru-no-purge", "gru.yaml"), ("xpmem-no-ack-wait", "xpmem.yaml"),
        ("xpmem-no-seq-check", "xpmem.yaml"), ("hmm-skip-when-busy", "oom-refusal.yaml"),
    ];

    private static IEnumerable<TestCaseData> Cases() => Variants.Select(v => new TestCaseData(v.Mutation, v.Scenario).SetName($"{v.Mutation} on {v.Scenario}"));

    private static Scenario Load(string file)
    {
        var result = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, file));
        Assert.That(result.Errors, Is.Empty, $"{file} loads");
        return result.Scenario!;
    }

    [TestCaseSource(nameof(Cases))]
    [CancelAfter(180_000)]
    public void Explore_finds_the_variant_within_30_seconds_with_a_token_that_replays_it(string mutation, string file, CancellationToken token)
    {
        var scenario = Load(file);
        var options = new ExploreOptions
        {
            ScenarioPath = Path.Combine("config", "scenarios", file),
            Schedules = 100_000,
            Mutation = mutation,
            Seed = scenario.Seed,
            Duration = TimeSpan.FromMilliseconds(40),
            MaxSteps = 60_000,
            ShrinkRuns = 10,
        };
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(token);
        budget.CancelAfter(TimeSpan.FromSeconds(30));
        var clock = Stopwatch.StartNew();
        var result = new Explorer(scenario, options).Run(line => TestContext.Out.WriteLine(line), budget.Token);
        TestContext.Out.WriteLine($"{mutation}: {result.SchedulesRun} schedules, {clock.Elapsed.TotalSeconds:0.0} s, token {result.Violation?.Token}");
        Assert.That(result.Violation, Is.Not.Null, $"{mutation} is found within 30 s ({result.SchedulesRun} schedules searched)");
        Assert.That(ScheduleToken.TryDecode(result.Violation!.Token, out var replayToken, out var problem), Is.True, problem ?? "the token reads back");
        var replay = ScheduleRun.Execute(scenario, replayToken!, token);
        Assert.Multiple(() =>
        {
            Assert.That(replay.Failed, Is.True, "the token replays to a violation");
            Assert.That(replay.Summary.Schedule!.TraceHash, Is.EqualTo(result.Violation.TraceHash), "the same interleaving");
        });
    }

    [Test]
    [CancelAfter(3_600_000)]
    public void The_intact_protocol_survives_ten_thousand_race_hunt_schedules(CancellationToken token)
    {
        var scenario = Load("race-hunt.yaml");
        var options = new ExploreOptions
        {
            ScenarioPath = Path.Combine("config", "scenarios", "race-hunt.yaml"),
            Schedules = 10_000,
            Seed = scenario.Seed,
            Duration = TimeSpan.FromMilliseconds(10),
            MaxSteps = 3_000,
            AccessCost = TimeSpan.FromMicroseconds(100),
        };
        var result = new Explorer(scenario, options).Run(line => TestContext.Out.WriteLine(line), token);
        TestContext.Out.WriteLine($"{result.SchedulesRun} schedules, {result.Steps} steps, {result.Seconds} s");
        Assert.Multiple(() =>
        {
            Assert.That(result.Violation, Is.Null, $"no violation; found: {string.Join(",", result.Violation?.Kinds ?? [])} {result.Violation?.Detail} {result.Violation?.Token}");
            Assert.That(result.SchedulesRun, Is.EqualTo(10_000), "every schedule ran");
        });
    }
}
