using Hypervisor.GuestModel.Exploration;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Exploration;

/// <summary>The detection suite covers the whole catalogue, each variant on a scenario that exists and loads.</summary>
[TestFixture]
public class MutationSuiteTests
{
    [Test]
    public void Every_mutation_of_the_catalogue_has_an_exploration_scenario_or_has_no_violation_by_design()
    {
        Assert.Multiple(() =>
        {
            Assert.That(MutationSuite.Unlisted(), Is.Empty, "a new mutation needs its row in MutationSuite.Variants");
            Assert.That(MutationSuite.Variants.Select(v => v.Mutation), Is.Unique, "one row per mutation");
            Assert.That(MutationSuite.Variants.Select(v => v.Mutation).Concat(MutationSuite.WithoutViolation).Except(MutationCatalog.Names), Is.Empty,
                "every row names a mutation of the catalogue");
        });
    }

    [Test]
    public void Every_exploration_scenario_loads()
    {
        foreach (var file in MutationSuite.Variants.Select(v => v.Scenario).Distinct())
        {
            var result = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, file));
            Assert.That(result.Errors, Is.Empty, $"{file} loads");
        }
    }

    [Test]
    public void Medians_count_a_search_that_found_nothing_at_what_it_spent()
    {
        var row = new MutationMeasurement("m", "s.yaml",
        [
            new MutationTrial(1, true, 4, 2.0, 1.5, "hv2.a", "stale-read", "h"),
            new MutationTrial(2, false, 90, 30.0, 30.0, null, null, null),
            new MutationTrial(3, true, 10, 5.0, 4.0, "hv2.b", "stale-read", "h"),
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(row.Found, Is.EqualTo(2), "two of three seeds found it");
            Assert.That(row.MedianSchedules, Is.EqualTo(10), "median of 4, 10, 90");
            Assert.That(row.MedianCpuSeconds, Is.EqualTo(4.0), "median of 1.5, 4, 30");
            Assert.That(MutationSuite.Table([row], new MutationSuiteOptions()), Does.Contain("| `m` | `s.yaml` | 2/3 | 10 |"), "the table row");
        });
    }
}
