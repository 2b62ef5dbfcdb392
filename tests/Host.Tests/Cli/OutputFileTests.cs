using Hypervisor.Host.Cli;
using Hypervisor.Host.Configuration;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Cli;

/// <summary>
/// The one write path for files the tool produces (<c>run --summary</c>, <c>analyze --out</c>, the daemon's summary
/// directory): it replaces nothing but the output and never reports a failed write as success.
/// </summary>
[TestFixture]
public class OutputFileTests
{
    [Test]
    public void An_input_named_as_the_output_is_refused_and_left_alone()
    {
        using var directory = new TempDirectory();
        var input = directory.Combine("s.yaml");
        File.WriteAllText(input, "keep me");
        var thrown = Assert.Throws<BadInputException>(() => OutputFile.Write("--summary", input, [input], w => w.Write("report")));
        Assert.That(thrown!.Message, Does.StartWith("--summary: expected an output other than the input"), "one line naming the option");
        Assert.That(File.ReadAllText(input), Is.EqualTo("keep me"), "the input is untouched");
    }

    [Test]
    public void Another_name_of_an_input_is_recognised()
    {
        using var directory = new TempDirectory();
        var input = directory.Combine("log.jsonl");
        File.WriteAllText(input, "keep me");
        var link = directory.Combine("alias.jsonl");
        File.CreateSymbolicLink(link, input);
        var hard = directory.Combine("sub", "..", "log.jsonl");
        Assert.Throws<BadInputException>(() => OutputFile.Check("--out", link, [input]), "a symbolic link to the input");
        Assert.Throws<BadInputException>(() => OutputFile.Check("--out", hard, [input]), "the same path spelt differently");
        Assert.That(File.ReadAllText(input), Is.EqualTo("keep me"));
    }

    [Test]
    public void A_directory_is_refused_as_the_output()
    {
        using var directory = new TempDirectory();
        var thrown = Assert.Throws<BadInputException>(() => OutputFile.Check("--out", directory.Path, []));
        Assert.That(thrown!.Message, Does.StartWith("--out: expected a file to write, got the directory"));
    }

    [Test]
    public void An_unwritable_place_is_bad_input_found_before_any_work()
    {
        Assume.That(Directory.Exists("/proc/self"), "needs /proc (Linux)");
        var thrown = Assert.Throws<BadInputException>(() => OutputFile.Check("--summary", "/proc/self/nope/summary.json", []));
        Assert.That(thrown!.Message, Does.StartWith("--summary: expected a file that can be written, got '/proc/self/nope/summary.json'"));
    }

    [Test]
    public void A_device_is_written_into_not_replaced()
    {
        Assume.That(File.Exists("/dev/null"), "needs /dev/null");
        OutputFile.Write("--summary", "/dev/null", [], w => w.Write("discarded"));
        Assert.That(FileIdentity.Of("/dev/null")!.Value.Kind, Is.EqualTo(FileKind.Other), "/dev/null is still a device (as root, a rename made it a regular file)");
    }

    [Test]
    public void A_full_device_is_a_failed_write_with_a_clear_message()
    {
        Assume.That(File.Exists("/dev/full"), "needs /dev/full (Linux)");
        var thrown = Assert.Throws<IOException>(() => OutputFile.Write("--out", "/dev/full", [], w => w.Write(new string('x', 100_000))));
        Assert.That(thrown!.Message, Does.StartWith("--out: cannot write '/dev/full': No space left on device"), "never reported as success");
    }

    [Test]
    public void A_failed_write_to_a_regular_file_keeps_the_old_content_and_leaves_no_temporary_file()
    {
        using var directory = new TempDirectory();
        var target = directory.Combine("report.html");
        File.WriteAllText(target, "old report");
        Assert.Throws<InvalidOperationException>(() => OutputFile.Write("--out", target, [], _ => throw new InvalidOperationException("renderer failed")));
        Assert.That(File.ReadAllText(target), Is.EqualTo("old report"), "the target is replaced only by a complete file");
        Assert.That(Directory.GetFiles(directory.Path), Is.EquivalentTo(new[] { target }), "the temporary file is removed");
    }

    [Test]
    public void A_symbolic_link_output_keeps_the_link_and_updates_its_target()
    {
        using var directory = new TempDirectory();
        var target = directory.Combine("real.json");
        File.WriteAllText(target, "old");
        var link = directory.Combine("link.json");
        File.CreateSymbolicLink(link, target);
        OutputFile.Write("--summary", link, [], w => w.Write("new"));
        Assert.Multiple(() =>
        {
            Assert.That(new FileInfo(link).LinkTarget, Is.EqualTo(target), "the link is still a link");
            Assert.That(File.ReadAllText(target), Is.EqualTo("new"), "its target has the output");
        });
    }
}
