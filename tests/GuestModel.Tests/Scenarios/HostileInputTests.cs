using System.Text;
using Hypervisor.GuestModel.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Scenarios;

/// <summary>
/// Input no scenario has, sent by someone probing the tool: deep nesting, YAML tags, files without end, values past
/// what a run can do. Each is refused with one positioned line, never a crash, and <c>validate</c> accepts exactly
/// what <c>run</c> can run (one set of limits, <see cref="ScenarioLimits"/>, checked by the loader).
/// </summary>
public class HostileInputTests
{
    [TestCase("[", "]")]
    [TestCase("{a: ", "}")]
    public void Thirty_thousand_nested_brackets_are_refused_without_overflowing_the_stack(string open, string close)
    {
        var deep = "name: deep\nhost: " + string.Concat(Enumerable.Repeat(open, 30_000)) + "1" + string.Concat(Enumerable.Repeat(close, 30_000)) + "\n";
        var errors = ScenarioText.LoadErrors(deep);
        Assert.That(errors[0].Message, Is.EqualTo($"expected lists and mappings nested at most {ScenarioLimits.MaxNesting} deep"),
            "the depth limit stops the parse before the node tree recurses");
        Assert.That(errors[0].Line, Is.EqualTo(2), "positioned at the first level too deep");
    }

    [Test]
    public void Nesting_at_the_limit_is_still_parsed()
    {
        // A list nested exactly MaxNesting - 1 deep under the root mapping: the loader's own rules reject it, not the depth limit.
        var text = "name: t\nhost: " + new string('[', ScenarioLimits.MaxNesting - 1) + new string(']', ScenarioLimits.MaxNesting - 1) + "\n";
        var errors = ScenarioText.LoadErrors(text);
        Assert.That(errors.Select(e => e.Message), Has.None.Contains("nested at most"), "the limit leaves room for any real scenario");
    }

    [TestCase("ram: !!binary 1GiB", "tag:yaml.org,2002:binary")]
    [TestCase("ram: !!str 1GiB", "tag:yaml.org,2002:str")]
    [TestCase("ram: !custom 1GiB", "!custom")]
    public void A_yaml_tag_is_refused_not_ignored(string line, string tag)
    {
        var errors = ScenarioText.LoadErrors(ScenarioText.MinimalHead.Replace("ram: 1GiB", line, StringComparison.Ordinal));
        Assert.That(errors.Single().Message, Does.Contain($"got the YAML tag {tag}"), "a tag would otherwise be read as if absent");
        Assert.That((errors.Single().Line, errors.Single().Column), Is.EqualTo((3, 8)), "positioned at the tagged value");
    }

    [Test]
    public void A_file_over_the_size_limit_is_refused_after_reading_one_byte_past_it()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hostile-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, ScenarioText.MinimalHead + "\n#" + new string('x', (int)ScenarioLimits.MaxFileBytes));
        try
        {
            var result = ScenarioLoader.Default.LoadFile(path);
            Assert.That(result.Errors.Single().Message, Does.StartWith("expected a scenario file of at most 1MiB"), "one error, no parse");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public void A_device_without_end_is_refused_without_reading_it_all(CancellationToken token)
    {
        Assume.That(File.Exists("/dev/zero"), "needs /dev/zero (Linux)");
        var result = ScenarioLoader.Default.LoadFile("/dev/zero");
        Assert.That(result.Errors.Single().Message, Does.StartWith("expected a scenario file of at most"), "/dev/zero used to grow to 4 GB and die");
    }

    [TestCase("at: 600h", "activities[0].at")]
    [TestCase("every: 597h", "activities[0].every")]
    public void An_activity_time_beyond_a_timer_is_refused_by_validation(string field, string path)
    {
        var errors = ScenarioText.LoadErrors(ScenarioText.MinimalHead + $"""

            activities:
              - kind: madvise-dontneed
                guest: g
                {field}
                size: 1MiB
            """);
        Assert.That(errors.Single().Path, Is.EqualTo(path));
        Assert.That(errors.Single().Message, Does.Contain("a duration of at most 2147483647ms (about 596h"), "run would throw ArgumentOutOfRangeException");
    }

    [Test]
    public void The_longest_timer_is_accepted() =>
        Assert.That(ScenarioText.LoadValid(ScenarioText.MinimalHead + "\nduration: 596h\n").Duration, Is.EqualTo(TimeSpan.FromHours(596)));

    [TestCase("ram: 9TiB", "host.ram", "at most 8589934584KiB")]
    [TestCase("swap: 9TiB", "host.swap", "at most 8589934588KiB")]
    public void Host_memory_past_the_frame_count_is_refused(string line, string path, string fragment)
    {
        var text = ScenarioText.MinimalHead.Replace("ram: 1GiB", line.StartsWith("ram", StringComparison.Ordinal) ? line : "ram: 1GiB\n  " + line, StringComparison.Ordinal);
        var errors = ScenarioText.LoadErrors(text);
        Assert.That(errors.Single(e => e.Path == path).Message, Does.Contain(fragment), "frame and swap-slot numbers are ints");
    }

    [Test]
    public void Host_memory_whose_frame_table_does_not_fit_this_machine_is_refused()
    {
        // Just under the frame-count limit: about 44GiB of frame table. Refused wherever that is more than half of what
        // the process may use; on a machine that large, the test picks the smallest refused size itself.
        var ram = ScenarioLimits.MaxHostRam;
        if (ScenarioLimits.TableBytes(ram, 0, 64 << 20) <= ScenarioLimits.MemoryBudget)
        {
            Assert.Ignore("this machine can hold the largest frame table");
        }

        var errors = ScenarioText.LoadErrors(ScenarioText.MinimalHead.Replace("ram: 1GiB", $"ram: {ram / 1024}KiB", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(errors.Single().Path, Is.EqualTo("host"), "one error, for the host as a whole");
            Assert.That(errors.Single().Message, Does.StartWith("expected a host whose tables fit in this machine's memory"),
                "run would die allocating the frame table (Out of memory, signal 6)");
            Assert.That(errors.Single().Message, Does.Contain("22 B per frame"), "the message says what the tables cost");
        });
    }

    [Test]
    public void The_table_estimate_counts_frames_swap_slots_and_guest_pages() =>
        Assert.That(ScenarioLimits.TableBytes(1L << 30, 1L << 30, 1L << 30), Is.EqualTo(262_144L * (22 + 4 + 32)),
            "a GiB is 262,144 pages of each kind");

    [Test]
    public void More_threads_than_the_limit_are_refused()
    {
        var text = new StringBuilder("name: t\nhost:\n  ram: 64GiB\nguests:\n");
        for (var i = 0; i < ScenarioLimits.MaxThreads / 64 + 1; i++)
        {
            text.Append("  - { name: g").Append(i).Append(", memory: 4MiB, vcpus: 64 }\n");
        }

        var errors = ScenarioText.LoadErrors(text.ToString());
        Assert.That(errors.Single().Message, Does.StartWith($"expected at most {ScenarioLimits.MaxThreads} vCPUs and activities in total"));
    }

    [Test]
    public void A_thousand_one_vcpu_guests_are_within_every_limit()
    {
        var scenario = ScenarioText.LoadValid(OversubscribedScenario.Text(1000));
        Assert.That(scenario.Guests, Has.Count.EqualTo(1000), "the oversubscription scenario of the README is a valid file");
    }
}
