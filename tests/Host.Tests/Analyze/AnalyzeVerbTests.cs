using System.CommandLine;
using System.Text.Json;
using Hypervisor.Host.Analyze;
using Hypervisor.Host.Analyze.Output;
using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>The verb: exit codes, one-line errors, and every output format produced and parseable.</summary>
[TestFixture]
[CancelAfter(60_000)]
public class AnalyzeVerbTests
{
    private TempDirectory _directory = null!;
    private string _log = null!;

    [OneTimeSetUp]
    public void WriteTheKnownLog()
    {
        _directory = new TempDirectory();
        _log = LogFiles.Write(_directory, log => KnownLog.Write(log));
    }

    [OneTimeTearDown]
    public void RemoveDirectory() => _directory.Dispose();

    [Test]
    public void A_missing_file_is_a_one_line_error_with_exit_code_2()
    {
        var (code, stdout, stderr) = Run(["logs/x.json"]);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(2), "bad input");
            Assert.That(stderr, Is.EqualTo("analyze: logs/x.json: file not found" + Environment.NewLine), "one line naming the file");
            Assert.That(stdout, Is.Empty, "no report");
        });
    }

    [Test]
    public void An_empty_file_is_a_one_line_error_with_exit_code_2()
    {
        var empty = _directory.File("empty.log");
        File.WriteAllText(empty, string.Empty);
        var (code, _, stderr) = Run([empty]);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(2), "no events is bad input");
            Assert.That(stderr, Is.EqualTo($"analyze: {empty}: no log events" + Environment.NewLine), "one line naming the file");
        });
    }

    [Test]
    public void A_directory_without_logs_and_an_unknown_format_are_bad_input()
    {
        var emptyDirectory = Directory.CreateDirectory(_directory.File("nothing-here")).FullName;
        var (dirCode, _, dirError) = Run([emptyDirectory]);
        var (formatCode, _, formatError) = Run([_log], format: "pdf");
        Assert.Multiple(() =>
        {
            Assert.That(dirCode, Is.EqualTo(2), "an empty directory is bad input");
            Assert.That(dirError, Does.StartWith($"analyze: {emptyDirectory}: no *.json, *.jsonl, *.log files"), "the message says what was looked for");
            Assert.That(formatCode, Is.EqualTo(2), "an unknown format is bad input");
            Assert.That(formatError, Does.Contain("--format: expected table, json, csv, markdown or html, got 'pdf'"), "the message lists the formats");
        });
    }

    [Test]
    public void Json_is_the_report_model_in_camel_case()
    {
        var (code, stdout, _) = Run([_log], format: "json");
        using var document = JsonDocument.Parse(stdout);
        var root = document.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(0), "a clean log with an agreeing summary exits 0");
            Assert.That(root.GetProperty("invalidations").GetProperty("total").GetInt64(), Is.EqualTo(100), "camelCase total");
            Assert.That(root.GetProperty("faults").GetProperty("retriesByReason").GetProperty("invalidation-in-progress").GetInt64(),
                Is.EqualTo(100), "dictionary keys are kept as logged");
            Assert.That(root.GetProperty("consistency").GetProperty("runs")[0].GetProperty("allMatch").GetBoolean(), Is.True, "the check is in the document");
            Assert.That(JsonRenderer.Deserialize(stdout)!.Invalidations.Total, Is.EqualTo(100), "the document reads back into the model");
        });
    }

    [Test]
    public void Csv_is_long_format_with_one_header()
    {
        var (code, stdout, _) = Run([_log], format: "csv");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(0), "exit 0");
            Assert.That(lines[0], Is.EqualTo("table,key,metric,value"), "the header");
            Assert.That(lines, Does.Contain("overview,invalidations,value,100"), "the total, raw");
            Assert.That(lines, Does.Contain("by-event,munmap,invalidations,60"), "a breakdown cell");
            Assert.That(lines, Does.Contain("pages-histogram,2-3,invalidations,20"), "a histogram cell");
            Assert.That(lines.Any(l => l.StartsWith("profile-comparison,", StringComparison.Ordinal)), Is.False, "no comparison with one profile");
            Assert.That(lines.Skip(1).Where(l => !l.Contains('"', StringComparison.Ordinal)).Select(l => l.Split(',').Length),
                Is.All.EqualTo(4), "four fields on every unquoted line");
        });
    }

    [Test]
    public void Markdown_has_headings_and_pipe_tables()
    {
        var (code, stdout, _) = Run([_log], format: "markdown");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(0), "exit 0");
            Assert.That(stdout, Does.Contain("## Overview"), "a heading per table");
            Assert.That(stdout, Does.Contain("| metric | value |"), "a header row");
            Assert.That(stdout, Does.Contain("| --- | ---: |"), "a separator row");
            Assert.That(stdout, Does.Contain("| invalidations | 100 |"), "the total");
        });
    }

    [Test]
    public void Html_is_one_self_contained_file_with_charts_and_the_numbers()
    {
        var (code, stdout, _) = Run([_log], format: "html");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(0), "exit 0");
            Assert.That(stdout, Does.StartWith("<!DOCTYPE html>"), "an HTML document");
            Assert.That(stdout, Does.Contain("<svg"), "inline SVG charts");
            Assert.That(stdout, Does.Contain("<div class=\"v\">100</div><div class=\"k\">invalidations</div>"), "the total invalidation count");
            Assert.That(stdout, Does.Not.Contain("<script"), "no script");
            Assert.That(stdout, Does.Not.Match("(src|href)=\"https?:"), "no external resource");
        });
    }

    [Test]
    public void Table_is_readable_text()
    {
        var (code, stdout, _) = Run([_log], format: "table");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(0), "exit 0");
            Assert.That(stdout, Does.Contain("Overview"), "table titles");
            Assert.That(stdout, Does.Match(@"invalidations\s+│\s+100 │"), "the total in a table row");
            Assert.That(stdout, Does.Not.Contain("\u001b["), "no terminal escapes when not writing to a terminal");
        });
    }

    [TestCase("json")]
    [TestCase("html")]
    [TestCase("table")]
    public void Out_writes_the_report_to_a_file_and_leaves_no_temporary_file(string format)
    {
        var target = Path.Combine(_directory.File("reports-" + format), "report." + format);
        var (code, stdout, stderr) = Run([_log], format: format, output: target);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(0), "exit 0");
            Assert.That(stdout, Is.Empty, "nothing on stdout");
            Assert.That(stderr, Does.Contain("wrote"), "stderr says where the report went");
            Assert.That(File.ReadAllText(target), Does.Contain("100"), "the report is in the file");
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(target)!), Has.Length.EqualTo(1), "the temporary file was renamed away");
        });
    }

    [Test]
    public void An_unwritable_out_path_is_bad_input_not_a_crash()
    {
        var blocker = _directory.File("a-file");
        File.WriteAllText(blocker, "not a directory");
        var (code, _, stderr) = Run([_log], format: "json", output: Path.Combine(blocker, "report.json"));
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(2), "the report cannot be written under a file");
            Assert.That(stderr, Does.StartWith("analyze: "), "one line saying why");
            Assert.That(stderr.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "and only one line");
        });
    }

    [Test]
    public void Logs_with_violations_or_a_disagreeing_summary_exit_1_after_the_report()
    {
        var violations = LogFiles.Write(_directory, log =>
        {
            KnownLog.Write(log);
            log.Violation(5, "quickstart", "run-1", "vm0", "stale-read");
        }, "violations.json");
        var (code, stdout, _) = Run([violations], format: "json");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1), "violations recorded in the log");
            Assert.That(JsonDocument.Parse(stdout).RootElement.GetProperty("violations").GetProperty("total").GetInt64(), Is.EqualTo(1), "and reported");
        });
    }

    [Test]
    public void The_command_line_accepts_every_option()
    {
        var root = new RootCommand { AnalyzeVerb.Create() };
        var parse = root.Parse(["analyze", "a.json", "logs/", "--format", "csv", "--out", "r.csv", "--guest", "vm0",
            "--scenario", "quickstart", "--since", "5m", "--until", "2026-11-21T21:00:00Z"]);
        Assert.That(parse.Errors, Is.Empty, "all documented options parse");
        Assert.That(root.Parse(["analyze"]).Errors, Is.Not.Empty, "at least one LOG is required");
    }

    private static (int Code, string Stdout, string Stderr) Run(string[] logs, string? format = null, string? output = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = AnalyzeVerb.Execute(logs, format, output, null, null, null, null, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
