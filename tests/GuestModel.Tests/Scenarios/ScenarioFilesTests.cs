using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;
using Hypervisor.HostMemory.Notifiers;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Scenarios;

/// <summary>The scenario files shipped in <c>config/scenarios</c> load cleanly and say what their names promise.</summary>
public class ScenarioFilesTests
{
    private static IEnumerable<string> ShippedFiles() =>
        Directory.GetFiles(RepoPaths.ScenarioDirectory, "*.yaml").Select(Path.GetFileName).OfType<string>().Order();

    [TestCaseSource(nameof(ShippedFiles))]
    public void A_shipped_scenario_file_loads_without_errors(string file)
    {
        var result = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, file));
        Assert.That(result.Errors, Is.Empty, $"{file} must load cleanly:{Environment.NewLine}{result}");
        Assert.That(result.Scenario!.Name + ".yaml", Is.EqualTo(file), "a scenario file is named after its scenario");
    }

    [Test]
    public void The_expected_scenario_files_are_shipped()
    {
        Assert.That(ShippedFiles(), Is.SupersetOf(new List<string>
        {
            "quickstart.yaml", "cow-storm.yaml", "mprotect-stress.yaml", "teardown-race.yaml", "race-hunt.yaml", "legacy-vs-modern.yaml",
            "reclaim-pressure.yaml", "writeback.yaml", "ksm-merge.yaml", "migration.yaml",
        }), "the documented scenarios exist");
    }

    [Test]
    public void Quickstart_exercises_every_built_in_activity_kind_except_the_ones_that_end_a_guest()
    {
        var scenario = Load("quickstart.yaml");
        var expected = ActivityKindRegistry.CreateDefault().Names.Where(n => n is not ("exit" or "oom"));
        Assert.Multiple(() =>
        {
            Assert.That(scenario.Activities.Select(a => a.Kind).Distinct(), Is.EquivalentTo(expected), "a bit of every activity kind, none that ends a guest");
            Assert.That(scenario.Guests, Has.Count.EqualTo(2), "two small guests");
            Assert.That(scenario.Duration, Is.EqualTo(TimeSpan.FromSeconds(10)), "about ten seconds");
        });
    }

    [Test]
    public void Race_hunt_keeps_working_sets_small_and_activities_frequent()
    {
        var scenario = Load("race-hunt.yaml");
        Assert.Multiple(() =>
        {
            Assert.That(scenario.Guests.SelectMany(g => Enumerable.Range(0, g.Vcpus).Select(g.WorkloadFor)).Select(w => w.WorkingSet ?? -1),
                Has.All.InRange(2L << 20, 8L << 20), "2-8MiB working sets make vCPUs hit the pages activities invalidate");
            Assert.That(scenario.Activities.Where(a => a.Every is not null).Select(a => a.Every!.Value),
                Has.All.InRange(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50)), "periodic activities fire every 20-50ms");
            Assert.That(scenario.Activities.Select(a => a.Kind), Is.SupersetOf(new List<string> { "madvise-dontneed", "munmap-remap", "fork", "mprotect" }),
                "it invalidates in every way a vCPU can race with");
        });
    }

    [Test]
    public void Legacy_vs_modern_runs_the_2008_profile_with_forks()
    {
        var scenario = Load("legacy-vs-modern.yaml");
        Assert.Multiple(() =>
        {
            Assert.That(scenario.Host.NotifierProfile, Is.EqualTo(NotifierProfile.Legacy2008), "the legacy profile is the point of the file");
            Assert.That(scenario.Activities.Select(a => a.Parameters), Has.Some.InstanceOf<ForkParameters>(), "COW-heavy: it forks");
            Assert.That(scenario.Description, Does.Contain("modern"), "the description says how to compare with modern");
        });
    }

    private static Scenario Load(string file)
    {
        var result = ScenarioLoader.Default.LoadFile(Path.Combine(RepoPaths.ScenarioDirectory, file));
        Assert.That(result.Errors, Is.Empty, result.ToString());
        return result.Scenario!;
    }
}
