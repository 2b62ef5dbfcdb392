using Hypervisor.Host.Configuration;
using Hypervisor.Host.Experiments;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Experiments;

/// <summary><c>hypervisor experiment</c>: the list, bad input, and a small run's files.</summary>
[TestFixture]
[CancelAfter(300_000)]
public class ExperimentVerbTests
{
    [Test]
    public void List_names_every_experiment_with_a_claim_quoted_from_a_seed_file()
    {
        using var output = new StringWriter();
        var exit = ExperimentVerb.Execute([], null, "unused", list: true, null, null, output);
        Assert.That(exit, Is.Zero, "--list succeeds");
        foreach (var experiment in ExperimentCatalog.All)
        {
            Assert.That(output.ToString(), Does.Contain(experiment.Name), "every experiment is listed");
            foreach (var claim in experiment.Claims)
            {
                Assert.That(output.ToString(), Does.Contain($"seeds/{claim.SeedFile}"), "each claim names its seed file");
            }
        }
    }

    [Test]
    public void Every_quoted_claim_is_in_its_seed_file()
    {
        var seeds = SeedDirectory();
        if (seeds is null)
        {
            Assert.Ignore("the shared seeds directory is not beside the repository");
        }

        foreach (var claim in ExperimentCatalog.All.SelectMany(e => e.Claims))
        {
            var text = Normalize(File.ReadAllText(Path.Combine(seeds, claim.SeedFile)));
            Assert.That(text, Does.Contain(Normalize(claim.Quote)), $"the quote of {claim.Author} is in {claim.SeedFile}");
        }
    }

    [TestCase("no-such-experiment", "expected one of")]
    public void An_unknown_experiment_is_bad_input(string name, string message)
    {
        var e = Assert.Throws<BadInputException>(() => ExperimentVerb.Execute([name], null, "unused", false, null, null, TextWriter.Null));
        Assert.That(e!.Message, Does.Contain(message).And.Contain(name), "the message names the input and what was expected");
    }

    [TestCase(0, null, "--seeds")]
    [TestCase(null, "0", "--scale")]
    [TestCase(null, "fast", "--scale")]
    public void Bad_numbers_are_bad_input(int? seeds, string? scale, string option)
    {
        var e = Assert.Throws<BadInputException>(() => ExperimentVerb.Execute(["disarmed-cost"], seeds, "unused", false, scale, null, TextWriter.Null));
        Assert.That(e!.Message, Does.StartWith(option), "the message names the option");
    }

    [Test]
    public void A_small_run_writes_the_report_the_csv_the_charts_and_the_docs_section()
    {
        using var directory = new TempDirectory();
        var docs = directory.Combine("experiments.md");
        var exit = ExperimentVerb.Execute(["invalidate-page-vs-range"], 1, directory.Path, false, "0.03", docs, TextWriter.Null);
        var dir = directory.Combine("invalidate-page-vs-range");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, "the run succeeds");
            Assert.That(File.ReadAllText(Path.Combine(dir, "report.md")), Does.Contain("**Result.**").And.Contain("callbacks.svg"), "the report states its result and links its charts");
            Assert.That(File.ReadAllLines(Path.Combine(dir, "measurements.csv"))[0], Is.EqualTo(Hypervisor.Host.Experiments.Output.ExperimentReportWriter.CsvHeader), "the CSV has its header");
            Assert.That(File.ReadAllLines(Path.Combine(dir, "measurements.csv")), Has.Length.GreaterThan(10), "and a line per measurement");
            Assert.That(File.ReadAllText(Path.Combine(dir, "callbacks.svg")), Does.StartWith("<svg"), "the chart is an SVG file");
            Assert.That(File.ReadAllText(docs), Does.Contain("**Verdict.**").And.Contain("Not run yet: `hypervisor experiment disarmed-cost`"),
                "the docs hold the measured section and name the command for the others");
        });
    }

    internal static string? SeedDirectory()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "seeds");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Whitespace collapsed and reply markers ("&gt; " at a line's start) dropped: a claim may be quoted in a reply.</summary>
    private static string Normalize(string text) =>
        string.Join(' ', System.Text.RegularExpressions.Regex.Replace(text, @"(?m)^[ \t]*(>[ \t]?)+", string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
