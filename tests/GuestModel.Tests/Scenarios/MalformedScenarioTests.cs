using Hypervisor.GuestModel.Scenarios;
using NUnit.Framework;

namespace Hypervisor.GuestModel.Tests.Scenarios;

/// <summary>
/// One malformed file per kind of mistake (in <c>Scenarios/Malformed</c>): each must be refused with an error at the
/// right line, column and field path, saying what was expected and what was found.
/// </summary>
public class MalformedScenarioTests
{
    [TestCase("unknown-field.yaml", "guests[0].vcpu", 7, 5, "unknown field; did you mean \"vcpus\"? (allowed: name, memory, vcpus, backing, writeNotify, fileMapping, memslots, workload, vcpuWorkloads, mmu, pageTableChurn, addressSpaceOf, tlbEntries, thp)")]
    [TestCase("wrong-type.yaml", "guests[0].vcpus", 7, 12, "expected an integer between 1 and 64, got two")]
    [TestCase("collection-instead-of-value.yaml", "host.ram", 3, 8, "expected a size (bytes, or a number with B, KiB, MiB, GiB or TiB), got a list")]
    [TestCase("zero-size.yaml", "guests[0].memory", 6, 13, "expected a size > 0, got 0")]
    [TestCase("negative-size.yaml", "host.swap", 4, 9, "expected a size >= 0, got -1GiB")]
    [TestCase("unaligned-size.yaml", "guests[0].memory", 6, 13, "expected a multiple of 4KiB (the page size), got 1000")]
    [TestCase("bad-unit.yaml", "host.ram", 3, 8, "got 2GB: unit \"GB\" is ambiguous or misspelt; write GiB (powers of 1024)")]
    [TestCase("overcommit.yaml", "guests", 6, 3, "got 2GiB in total (sum over 2 guests) but host ram 1GiB + swap 512MiB = 1536MiB")]
    [TestCase("vcpus-zero.yaml", "guests[0].vcpus", 7, 12, "expected an integer >= 1, got 0")]
    [TestCase("vcpus-too-many.yaml", "guests[0].vcpus", 7, 12, "expected an integer <= 64, got 65")]
    [TestCase("duplicate-guest-name.yaml", "guests[1].name", 8, 11, "duplicate guest name \"web\" (first defined at line 5)")]
    [TestCase("memslot-overlap.yaml", "guests[0].memslots[1]", 11, 9, "expected memslots that do not overlap, got [64MiB, 192MiB) overlapping memslots[0] [0B, 128MiB)")]
    [TestCase("memslot-outside.yaml", "guests[0].memslots[0].size", 10, 15, "expected the slot to end inside guest memory of 256MiB, got base 128MiB + size 256MiB = 384MiB")]
    [TestCase("write-ratio-range.yaml", "guests[0].workload.writeRatio", 10, 19, "expected a number between 0 and 1, got 1.5")]
    [TestCase("working-set-too-large.yaml", "guests[0].workload.workingSet", 9, 19, "expected at most 256MiB (guest memory 256MiB from workingSetOffset 0B), got 512MiB")]
    [TestCase("unknown-pattern.yaml", "guests[0].workload.pattern", 9, 16, "expected one of sequential, uniform, zipf, stride, phased, got random")]
    [TestCase("phases-missing.yaml", "guests[0].workload.phases", 9, 7, "missing required field for pattern phased")]
    [TestCase("phases-unexpected.yaml", "guests[0].workload.phases", 11, 9, "phases apply only to pattern phased, but the pattern is zipf")]
    [TestCase("phase-without-accesses.yaml", "guests[0].workload.phases[1].accesses", 12, 11, "missing required field")]
    [TestCase("field-of-another-pattern.yaml", "guests[0].workload.zipfExponent", 10, 21, "zipfExponent applies only to pattern zipf, but the pattern is uniform")]
    [TestCase("unknown-activity-kind.yaml", "activities[0].kind", 9, 11, "unknown activity kind \"teleport\" (known: fork, munmap-remap, madvise-dontneed, munmap, mprotect, host-write, notifier-reregister, exit, aging, reclaim, writeback, migrate, ksm, khugepaged, oom, gup-fast)")]
    [TestCase("unknown-activity-guest.yaml", "activities[0].guest", 10, 12, "unknown guest \"wbe\" (guests: web)")]
    [TestCase("unknown-activity-parameter.yaml", "activities[0].childWritse", 11, 5, "unknown field; did you mean \"childWrites\"? (allowed: kind, guest, at, every, count, childLifetime, childWrites)")]
    [TestCase("activity-range-outside.yaml", "activities[0].size", 12, 11, "expected offset + size within guest 'web' memory of 256MiB, got 200MiB + 100MiB = 300MiB")]
    [TestCase("every-zero.yaml", "activities[0].every", 11, 12, "expected a duration > 0, got 0s")]
    [TestCase("count-without-every.yaml", "activities[0].count", 11, 12, "expected count 1 without every (all firings would happen at once), got 3; add every")]
    [TestCase("missing-required.yaml", "guests[0].memory", 5, 5, "missing required field")]
    [TestCase("missing-activity-guest.yaml", "activities[0].guest", 9, 5, "missing required field (activity kind exit acts on a guest)")]
    [TestCase("empty-guests.yaml", "guests", 4, 9, "expected at least one guest, got an empty list")]
    [TestCase("bad-notifier-profile.yaml", "host.notifierProfile", 4, 20, "expected one of modern, legacy2008, got legacy")]
    [TestCase("bad-name.yaml", "name", 1, 7, "expected a name of lower-case letters, digits and '-' ([a-z0-9-]+), got Quick Start")]
    [TestCase("duration-without-unit.yaml", "duration", 2, 11, "got 10: a unit is required (us, ms, s, m, h)")]
    [TestCase("duplicate-key.yaml", "", 7, 5, "YAML syntax error: Duplicate key memory")]
    [TestCase("yaml-syntax.yaml", "", 7, 4, "YAML syntax error: While parsing a block collection, did not find expected '-' indicator.")]
    [TestCase("unclosed-bracket.yaml", "", 7, 5, "YAML syntax error: unexpected end of the document (an unclosed [ or {?)")]
    [TestCase("empty-file.yaml", "", 0, 0, "the file is empty")]
    [TestCase("comments-only.yaml", "", 0, 0, "the file is empty")]
    [TestCase("not-a-mapping.yaml", "", 1, 1, "expected a mapping of scenario fields, got a list")]
    public void A_malformed_file_is_refused_with_a_positioned_error(string file, string path, int line, int column, string fragment)
    {
        var fullPath = Path.Combine(RepoPaths.MalformedDirectory, file);
        var result = ScenarioLoader.Default.LoadFile(fullPath);
        var all = string.Join(Environment.NewLine, result.Errors);
        Assert.That(result.Succeeded, Is.False, $"{file} is malformed and must be refused");
        var matching = result.Errors.Where(e => e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal)).ToList();
        Assert.That(matching, Has.Count.EqualTo(1), $"exactly one error at '{path}' says \"{fragment}\"; got:{Environment.NewLine}{all}");
        Assert.Multiple(() =>
        {
            Assert.That(matching[0].File, Is.EqualTo(fullPath), "the error names the file as it was given");
            Assert.That((matching[0].Line, matching[0].Column), Is.EqualTo((line, column)), $"the error points at the offending text; got:{Environment.NewLine}{all}");
        });
    }

    [Test]
    public void Every_malformed_example_file_has_a_test_case()
    {
        var covered = typeof(MalformedScenarioTests).GetMethod(nameof(A_malformed_file_is_refused_with_a_positioned_error))!
            .GetCustomAttributes(typeof(TestCaseAttribute), false).Cast<TestCaseAttribute>()
            .Select(a => (string)a.Arguments[0]!).ToHashSet();
        var files = Directory.GetFiles(RepoPaths.MalformedDirectory, "*.yaml").Select(Path.GetFileName);
        Assert.That(files, Is.SubsetOf(covered), "a malformed example without a test case proves nothing");
    }

    [Test]
    public void A_yaml_syntax_error_comes_back_as_a_result_not_an_exception()
    {
        var result = ScenarioLoader.Default.LoadText("name: [unclosed\nhost: {", "broken.yaml");
        Assert.Multiple(() =>
        {
            Assert.That(result.Succeeded, Is.False, "broken YAML is refused");
            Assert.That(result.Errors.Single().Line, Is.GreaterThan(0), "the syntax error has a position");
            Assert.That(result.Errors.Single().Message, Does.Not.Contain("(Line:"), "YamlDotNet's own position prefix is stripped");
        });
    }

    [Test]
    public void Several_documents_in_one_file_are_refused()
    {
        var errors = ScenarioText.LoadErrors(ScenarioText.MinimalHead + "\n---\nname: second\n");
        Assert.That(errors.Single().Message, Is.EqualTo("expected one YAML document, got 2"), "one scenario per file");
    }
}
