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
    private static IEnumerable<TestCaseData> Cases() =>
        MutationSuite.Variants.Select(v => new TestCaseData(v.Mutation, v.Scenario).SetName($"{v.Mutation} on {v.Scenario}"));

    private static Scenario Load(string file)
    {
        var result = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, Path.GetFileName(file)));
        Assert.That(result.Errors, Is.Empty, $"{file} loads");
        return result.Scenario!;
    }

    [TestCaseSource(nameof(Cases))]
    [CancelAfter(300_000)]
    public void Explore_finds_the_variant_within_30_seconds_with_a_token_that_replays_it(string mutation, string file, CancellationToken token)
    {
        // The measurement `hypervisor explore --all-mutations --seeds 1` makes: 30 s of CPU time for the search.
        var suite = new MutationSuite(Load, new MutationSuiteOptions { Seeds = 1, Budget = TimeSpan.FromSeconds(30) });
        var trial = suite.Measure(mutation, file, line => TestContext.Out.WriteLine(line), token).Trials.Single();
        TestContext.Out.WriteLine($"{mutation}: {trial.Schedules} schedules, {trial.Seconds:0.0} s ({trial.CpuSeconds:0.0} s of CPU), token {trial.Token}");
        Assert.That(trial.Found, Is.True, $"{mutation} is found within 30 s of CPU ({trial.Schedules} schedules searched)");
        Assert.That(ScheduleToken.TryDecode(trial.Token!, out var replayToken, out var problem), Is.True, problem ?? "the token reads back");
        var replay = ScheduleRun.Execute(Load(file), replayToken!, token);
        Assert.Multiple(() =>
        {
            Assert.That(replay.Failed, Is.True, "the token replays to a violation");
            Assert.That(replay.Summary.Schedule!.TraceHash, Is.EqualTo(trial.TraceHash), "the same interleaving");
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
