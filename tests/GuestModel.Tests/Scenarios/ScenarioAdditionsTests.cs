using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Scenarios.Activities;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Scenarios;

/// <summary>
/// The fields KVM's selftests need (<c>accessesPerVcpu</c>, <c>tlbEntries</c>, the <c>munmap</c> kind) and the rule that
/// a scenario file is named after its scenario.
/// </summary>
public class ScenarioAdditionsTests
{
    [Test]
    public void A_file_named_otherwise_than_its_scenario_is_refused_at_the_name()
    {
        var directory = Path.Combine(Path.GetTempPath(), "names-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var path = Path.Combine(directory, "copy-of-t.yaml");
            File.WriteAllText(path, ScenarioText.MinimalHead + "\n");
            var result = ScenarioLoader.Default.LoadFile(path);
            Assert.That(result.Succeeded, Is.False, "name t in copy-of-t.yaml: a copy edited without renaming would pass for t");
            var error = result.Errors.Single();
            Assert.Multiple(() =>
            {
                Assert.That((error.Path, error.Line, error.Column), Is.EqualTo(("name", 1, 7)), "positioned at the name's value");
                Assert.That(error.Message, Does.StartWith("expected the name of the file, copy-of-t, got t"), "both names in the message");
            });

            var renamed = Path.Combine(directory, "t.yaml");
            File.Move(path, renamed);
            Assert.That(ScenarioLoader.Default.LoadFile(renamed).Errors, Is.Empty, "the same text in t.yaml loads");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public void Text_without_a_file_is_not_held_to_a_file_name()
    {
        Assert.That(ScenarioText.LoadValid(ScenarioText.MinimalHead).Name, Is.EqualTo("t"), "LoadText's display name is not a file name");
    }

    [Test]
    public void AccessesPerVcpu_alone_leaves_the_run_without_a_duration()
    {
        var scenario = ScenarioText.LoadValid("accessesPerVcpu: 5000\n" + ScenarioText.MinimalHead);
        Assert.Multiple(() =>
        {
            Assert.That(scenario.AccessesPerVcpu, Is.EqualTo(5000), "read as given");
            Assert.That(scenario.Duration, Is.Null, "the vCPUs' quotas end the run, not the default 10s");
            Assert.That(ScenarioText.LoadValid(ScenarioText.MinimalHead).AccessesPerVcpu, Is.Null, "absent: no per-vCPU limit");
        });
    }

    [Test]
    public void AccessesPerVcpu_below_one_is_refused()
    {
        var error = ScenarioText.LoadErrors("accessesPerVcpu: 0\n" + ScenarioText.MinimalHead).Single();
        Assert.That((error.Path, error.Message), Is.EqualTo(("accessesPerVcpu", "expected an integer >= 1, got 0")), "named and explained");
    }

    [TestCase(1)]
    [TestCase(4096)]
    public void TlbEntries_takes_a_power_of_two(int entries)
    {
        var scenario = ScenarioText.LoadValid(ScenarioText.MinimalHead + $"\n    tlbEntries: {entries}\n");
        Assert.That(scenario.Guests[0].TlbEntries, Is.EqualTo(entries), "read as given");
    }

    [TestCase("48", "expected a power of two (the vCPU TLB is indexed by the low gfn bits), got 48")]
    [TestCase("0", "expected an integer >= 1, got 0")]
    [TestCase("131072", "expected an integer <= 65536, got 131072")]
    public void TlbEntries_otherwise_is_refused(string value, string message)
    {
        var error = ScenarioText.LoadErrors(ScenarioText.MinimalHead + $"\n    tlbEntries: {value}\n").Single();
        Assert.That((error.Path, error.Message), Is.EqualTo(("guests[0].tlbEntries", message)), "named and explained");
    }

    [Test]
    public void Munmap_takes_a_guest_range()
    {
        var scenario = ScenarioText.LoadValid(ScenarioText.MinimalHead +
            "\nactivities:\n  - { kind: munmap, guest: g, at: 1s, offset: 8MiB, size: 4MiB }\n");
        var parameters = (MunmapParameters)scenario.Activities.Single().Parameters;
        Assert.That(parameters.Range, Is.EqualTo(new GuestRange(8L << 20, 4L << 20)), "offset and size as given");
    }
}
