using Hypervisor.Host.Analyze;
using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>Lines that are not our events are counted and located, never fatal; partial runs still give statistics.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class RobustnessTests
{
    private TempDirectory _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = new TempDirectory();

    [TearDown]
    public void RemoveDirectory() => _directory.Dispose();

    [Test]
    public void Corrupt_foreign_unknown_and_truncated_lines_are_counted_with_their_location_and_skipped()
    {
        var report = LogFiles.Analyze(_directory, log =>
        {
            KnownLog.Write(log);
            log.Raw("this is not json at all");                                             // line A
            log.Raw("{\"Timestamp\":\"2026-11-21T20:05:01Z\",\"Level\":\"Information\"}");  // JSON without Properties
            log.Raw("{\"Properties\":{\"Pages\":3}}");                                     // Properties without EventId
            log.Bare(11, 99, "FromTheFuture");                                              // unknown id
            log.Bare(11, 3, "NotAnInvalidation");                                           // known id, wrong name
            log.Raw("");                                                                    // blank: not a problem
            log.Raw("{\"Timestamp\":\"2026-11-21T20:05:12Z\",\"Properties\":{\"EventId\":{\"Id\":3,", newline: false);
        }, layout: LogLayout.JsonFormatter);

        var problems = report.Input.Problems;
        var lines = File.ReadAllLines(_directory.File("hypervisor.json"));
        var firstBad = Array.IndexOf(lines, "this is not json at all") + 1;
        Assert.Multiple(() =>
        {
            Assert.That(problems.ByKind, Is.EqualTo(new Dictionary<string, long>
            {
                ["not-json"] = 1, ["truncated"] = 1, ["no-event-id"] = 2, ["unknown-event"] = 2,
            }), "each kind of bad line is counted once per line");
            Assert.That(problems.Total, Is.EqualTo(6), "six lines skipped; the blank one is not a problem");
            Assert.That(problems.First[0].Line, Is.EqualTo(firstBad), "the first bad line is located by its 1-based number");
            Assert.That(problems.First[0].File, Does.EndWith("hypervisor.json"), "and by its file");
            Assert.That(problems.First[^1].Kind, Is.EqualTo("truncated"), "the cut last line is reported as truncated");
            Assert.That(problems.First[^1].Line, Is.EqualTo(lines.Length), "on the last line");
            Assert.That(problems.First.Single(p => p.Detail.Contains("99", StringComparison.Ordinal)).Kind, Is.EqualTo("unknown-event"),
                "the unknown event's id is shown");
            Assert.That(report.Invalidations.Total, Is.EqualTo(100), "the statistics are those of the good lines");
            Assert.That(report.Consistency.Runs.Single().AllMatch, Is.True, "and still agree with the summary");
        });
    }

    [Test]
    public void An_abrupt_run_without_summary_or_final_statistics_still_gives_statistics()
    {
        var report = LogFiles.Analyze(_directory, log => KnownLog.Write(log, complete: false));
        var run = report.Runs.Single();
        Assert.Multiple(() =>
        {
            Assert.That(report.Invalidations.Total, Is.EqualTo(100), "every invalidation logged before the end counts");
            Assert.That(report.Faults.FaultRetries, Is.EqualTo(2 * 48), "retries from the last periodic statistics (8 s: 48 per guest)");
            Assert.That(report.Faults.FinalStreams, Is.Zero, "no final statistics");
            Assert.That(run.Ended || run.HasSummary || run.HasFinalStatistics, Is.False, "the run is reported as incomplete");
            Assert.That(run.Seconds, Is.EqualTo(9.9).Within(1e-9), "run time falls back to the last elapsed time seen");
            Assert.That(report.Consistency.Runs, Is.Empty, "nothing to check without a summary");
        });
    }

    [Test]
    public void Numbers_logged_as_strings_and_type_tags_are_read_leniently()
    {
        var path = LogFiles.Write(_directory, log => KnownLog.Write(log), numbersAsStrings: true);
        var report = LogAnalyzer.Analyze([path], AnalyzeFilter.None);
        Assert.Multiple(() =>
        {
            Assert.That(report.Invalidations.Pages, Is.EqualTo(620), "string page counts are numbers");
            Assert.That(report.Invalidations.Duration.MaxMicros, Is.EqualTo(100), "string durations are numbers");
            Assert.That(report.Faults.FaultRetries, Is.EqualTo(120), "string counters inside RetriesByReason are numbers");
            Assert.That(report.Consistency.Runs.Single().AllMatch, Is.True, "summary totals under _typeTag'd objects are read");
        });
    }

    [Test]
    public void A_file_of_only_foreign_lines_is_bad_input()
    {
        var path = LogFiles.Write(_directory, log =>
        {
            log.Raw("{\"msg\":\"hello\"}");
            log.Raw("garbage");
        });
        var error = Assert.Throws<LogInputException>(() => LogAnalyzer.Analyze([path], AnalyzeFilter.None), "no events is bad input");
        Assert.That(error!.Message, Is.EqualTo($"{path}: no log events (2 lines skipped as not ours)"), "the one-line message says why");
    }

    [Test]
    public void Crlf_line_endings_and_a_line_larger_than_the_read_buffer_are_handled()
    {
        var path = LogFiles.Write(_directory, log =>
        {
            log.Raw("{\"junk\":\"" + new string('x', 3 << 20) + "\"}");
            KnownLog.Write(log);
        });
        File.WriteAllText(path, File.ReadAllText(path).Replace("\n", "\r\n", StringComparison.Ordinal));
        var report = LogAnalyzer.Analyze([path], AnalyzeFilter.None);
        Assert.Multiple(() =>
        {
            Assert.That(report.Invalidations.Total, Is.EqualTo(100), "CRLF lines parse");
            Assert.That(report.Input.Problems.ByKind["no-event-id"], Is.EqualTo(1), "the 3 MiB foreign line is one problem");
            Assert.That(report.Input.Problems.First[0].Line, Is.EqualTo(1), "on line 1");
        });
    }
}
