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

    private const string AliasHead = """
        name: t
        host:
          ram: 1GiB
        guests:
          - name: g
            memory: 64MiB
            vcpus: 2
            memslots:
              - { base: 0, size: 32MiB }
        """;

    [Test]
    public void An_alias_maps_the_memory_of_the_slot_it_names_with_its_backing()
    {
        var scenario = ScenarioText.LoadValid(AliasHead.Replace("size: 32MiB }", "size: 32MiB, backing: file-shared }", StringComparison.Ordinal) +
            "\n      - { base: 32MiB, size: 16MiB, aliasOf: 0, readOnly: true }\n");
        var alias = scenario.Guests[0].Memslots[1];
        Assert.Multiple(() =>
        {
            Assert.That(alias.AliasOf, Is.EqualTo(0), "it names the slot at base 0");
            Assert.That(alias.Backing, Is.EqualTo(HostMemory.AddressSpaces.VmaKind.FileShared), "it takes that slot's backing");
            Assert.That(alias.ReadOnly, Is.True, "KVM_MEM_READONLY is the alias's own");
        });
    }

    [TestCase("{ base: 32MiB, size: 16MiB, aliasOf: 8MiB }", "aliasOf", "expected the base of another memslot of this guest, got 8MiB (bases: 0B)")]
    [TestCase("{ base: 32MiB, size: 32MiB, aliasOf: 0, backing: anonymous-shared }", "backing", "expected no backing on an alias")]
    [TestCase("{ base: 32MiB, size: 32MiB, aliasOf: 32MiB }", "aliasOf", "expected the base of another memslot of this guest, got 32MiB")]
    public void A_bad_alias_is_refused(string slot, string field, string message)
    {
        var errors = ScenarioText.LoadErrors(AliasHead + "\n      - " + slot + "\n");
        Assert.That(errors.Where(e => e.Path == $"guests[0].memslots[1].{field}" && e.Message.StartsWith(message, StringComparison.Ordinal)),
            Has.Exactly(1).Items, "one error at the field: " + string.Join("; ", errors));
    }

    [Test]
    public void An_alias_larger_than_its_slot_or_of_an_alias_is_refused()
    {
        var smaller = AliasHead.Replace("size: 32MiB }", "size: 16MiB }", StringComparison.Ordinal);
        var larger = ScenarioText.LoadErrors(smaller + "\n      - { base: 32MiB, size: 32MiB, aliasOf: 0 }\n");
        var chained = ScenarioText.LoadErrors(smaller + "\n      - { base: 16MiB, size: 16MiB, aliasOf: 0 }\n      - { base: 32MiB, size: 16MiB, aliasOf: 16MiB }\n");
        Assert.Multiple(() =>
        {
            Assert.That(larger.Single().Message, Does.StartWith("expected an alias no larger than the slot it maps (16MiB), got 32MiB"), "size");
            Assert.That(chained.Single().Message, Does.StartWith("expected a memslot with memory of its own, got memslots[1], itself an alias"), "chain");
        });
    }

    [Test]
    public void Aliases_are_refused_in_shadow_mode()
    {
        var error = ScenarioText.LoadErrors(AliasHead + "\n      - { base: 32MiB, size: 16MiB, aliasOf: 0 }\n    mmu: shadow\n").Single();
        Assert.That((error.Path, error.Message), Is.EqualTo(("guests[0].mmu", "expected mmu tdp with aliased memslots (aliasOf), got shadow")), "TDP only");
    }

    [TestCase("at: 0-32us", 0, 32)]
    [TestCase("at: 10ms-10500us", 10_000, 500)]
    [TestCase("at: 250us", 250, 0)]
    public void At_takes_microseconds_and_a_jitter_range(string at, int lowMicros, int widthMicros)
    {
        var activity = ScenarioText.LoadValid(ScenarioText.MinimalHead + $"\nactivities:\n  - {{ kind: aging, {at}, every: 125us }}\n").Activities.Single();
        Assert.Multiple(() =>
        {
            Assert.That(activity.At, Is.EqualTo(TimeSpan.FromMicroseconds(lowMicros)), "the low end, to the microsecond");
            Assert.That(activity.AtJitter, Is.EqualTo(TimeSpan.FromMicroseconds(widthMicros)), "the width of the range");
            Assert.That(activity.Every, Is.EqualTo(TimeSpan.FromMicroseconds(125)), "microseconds are not rounded to milliseconds");
        });
    }

    [Test]
    public void A_range_that_runs_backwards_is_refused()
    {
        var error = ScenarioText.LoadErrors(ScenarioText.MinimalHead + "\nactivities:\n  - { kind: aging, at: 5ms-1ms }\n").Single();
        Assert.That((error.Path, error.Message), Is.EqualTo(("activities[0].at",
            "expected a duration or a range low-high of durations (0-32us, 10ms-12ms) with 0 <= low <= high <= 2147483647ms, got 5ms-1ms")),
            "named and explained");
    }
}
