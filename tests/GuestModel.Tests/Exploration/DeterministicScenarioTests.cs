using Hypervisor.GuestModel.Exploration;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.HostMemory.Scheduling;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Exploration;

/// <summary>
/// A scenario's <c>deterministic:</c> section: its runs are controlled without asking, with the section's seed and
/// strategy; <c>explore</c> takes its defaults from it; bad values are refused with the field's path.
/// </summary>
[TestFixture]
[NonParallelizable]
public class DeterministicScenarioTests
{
    private static Scenario Load(string deterministic)
    {
        var yaml = $$"""
            name: small-controlled
            seed: 11
            duration: 4ms
            host: { ram: 64MiB }
            guests:
              - { name: g, memory: 16MiB, vcpus: 2, workload: { pattern: uniform, writeRatio: 0.5, workingSet: 1MiB } }
            activities:
              - { kind: madvise-dontneed, guest: g, at: 1ms, every: 1ms, offset: 0, size: 1MiB }
            {{deterministic}}
            """;
        var result = ScenarioLoader.Default.LoadText(yaml, "small-controlled.yaml");
        Assert.That(result.Errors, Is.Empty, "the scenario loads");
        return result.Scenario!;
    }

    private static IReadOnlyList<ScenarioError> Errors(string deterministic) => ScenarioLoader.Default.LoadText($$"""
        name: bad
        host: { ram: 64MiB }
        guests: [ { name: g, memory: 16MiB } ]
        {{deterministic}}
        """, "bad.yaml").Errors;

    [Test]
    [CancelAfter(240_000)]
    public void A_scenario_with_a_deterministic_section_runs_controlled_with_its_seed_and_strategy(CancellationToken token)
    {
        var scenario = Load("deterministic: { seed: 77, strategy: pct, depth: 2, maxSteps: 20000 }");
        var first = new ScenarioRunner().Run(scenario, new RunOptions(), token);
        var second = new ScenarioRunner().Run(scenario, new RunOptions(), token);
        var reseeded = new ScenarioRunner().Run(Load("deterministic: { seed: 78, strategy: pct, depth: 2, maxSteps: 20000 }"), new RunOptions(), token);
        TestContext.Out.WriteLine($"{first.Schedule?.Steps} steps, hash {first.Schedule?.TraceHash}; reseeded {reseeded.Schedule?.TraceHash}");
        Assert.That(first.Schedule, Is.Not.Null, "no option asked for it: the section alone makes the run controlled");
        Assert.Multiple(() =>
        {
            Assert.That(first.Schedule!.Strategy, Is.EqualTo("pct"), "the section's strategy");
            Assert.That(first.Schedule.Seed, Is.EqualTo(77UL), "the section's scheduler seed, not the run's 11");
            Assert.That(first.Schedule.Steps, Is.InRange(20_000, 60_000), "the section's step budget stops the run (threads wind down after it)");
            Assert.That(first.Schedule.Abandoned, Is.Null, "control kept");
            Assert.That(second.Schedule!.TraceHash, Is.EqualTo(first.Schedule.TraceHash), "the same section, the same run");
            Assert.That(reseeded.Schedule!.TraceHash, Is.Not.EqualTo(first.Schedule.TraceHash), "another scheduler seed, another interleaving");
        });
    }

    [Test]
    [CancelAfter(240_000)]
    public void Run_deterministic_on_such_a_scenario_uses_the_section_and_explicit_settings_win(CancellationToken token)
    {
        var scenario = Load("deterministic: { seed: 5, strategy: pct, maxSteps: 5000 }");
        var commandLine = new ScenarioRunner().Run(scenario, new RunOptions { Schedule = new ScheduleSettings { UseScenarioSettings = true } }, token);
        var explicitSettings = new ScenarioRunner().Run(scenario, new RunOptions
        {
            Schedule = new ScheduleSettings { Seed = 9, Scheduler = new ScheduleOptions { MaxSteps = 5000 } },
        }, token);
        Assert.Multiple(() =>
        {
            Assert.That(commandLine.Schedule!.Strategy, Is.EqualTo("pct"), "--deterministic takes the section's strategy");
            Assert.That(commandLine.Schedule.Seed, Is.EqualTo(5UL), "and its seed");
            Assert.That(explicitSettings.Schedule!.Strategy, Is.EqualTo("random"), "complete settings (a replay token's) are not overridden");
            Assert.That(explicitSettings.Schedule.Seed, Is.EqualTo(9UL), "nor their seed");
        });
    }

    [Test]
    public void Explore_takes_its_defaults_from_the_section()
    {
        var spec = Load("""
            deterministic:
              strategy: pct
              depth: 4
              switchProbability: 0.5
              accessCost: 0.05ms
              maxSteps: 1234
              exploreDuration: 7ms
            """).Deterministic;
        var options = new ExploreOptions { ScenarioPath = "small-controlled.yaml" }.WithScenarioDefaults(spec);
        var plain = new ExploreOptions { ScenarioPath = "small-controlled.yaml" }.WithScenarioDefaults(Load(string.Empty).Deterministic);
        Assert.Multiple(() =>
        {
            Assert.That(options.Strategy, Is.EqualTo(ScheduleStrategyKind.Pct), "strategy");
            Assert.That(options.Depth, Is.EqualTo(4), "depth");
            Assert.That(options.SwitchProbability, Is.EqualTo(0.5), "switchProbability");
            Assert.That(options.AccessCost, Is.EqualTo(TimeSpan.FromMicroseconds(50)), "accessCost");
            Assert.That(options.MaxSteps, Is.EqualTo(1234), "maxSteps");
            Assert.That(options.Duration, Is.EqualTo(TimeSpan.FromMilliseconds(7)), "exploreDuration");
            Assert.That(plain, Is.EqualTo(new ExploreOptions { ScenarioPath = "small-controlled.yaml" }), "no section: the built-in defaults");
        });
    }

    [TestCase("deterministic: { strategy: guided }", "deterministic.strategy", "random, pct")]
    [TestCase("deterministic: { depth: 0 }", "deterministic.depth", "1")]
    [TestCase("deterministic: { switchProbability: 0 }", "deterministic.switchProbability", "excluded")]
    [TestCase("deterministic: { maxSteps: -3 }", "deterministic.maxSteps", "-3")]
    [TestCase("deterministic: { accessCost: 0ms }", "deterministic.accessCost", "> 0")]
    [TestCase("deterministic: { sead: 4 }", "deterministic", "sead")]
    [TestCase("deterministic: 3", "deterministic", "mapping")]
    public void A_bad_deterministic_section_is_refused_naming_the_field(string section, string path, string hint)
    {
        var errors = Errors(section);
        Assert.That(errors, Is.Not.Empty, $"'{section}' is refused");
        Assert.That(errors.Select(e => e.ToString()), Has.Some.Contains(path).And.Some.Contains(hint), "the message names the field and what was expected");
    }
}
