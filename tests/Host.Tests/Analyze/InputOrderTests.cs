using Hypervisor.Host.Analyze;
using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>Directories and Serilog's rolled files.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class InputOrderTests
{
    [Test]
    public void A_directory_reads_its_rolled_log_files_in_roll_order_and_ignores_other_files()
    {
        using var directory = new TempDirectory();
        // One run split across three rolled files, created out of order; statistics cross the file boundaries.
        LogFiles.Write(directory, log =>
        {
            log.Statistics(8, KnownLog.Snapshot(8, "run-1", "quickstart", "vm0", final: false));
            log.Statistics(10, KnownLog.Snapshot(10, "run-1", "quickstart", "vm0", final: true));
        }, "hypervisor20261121_002.json");
        LogFiles.Write(directory, log =>
        {
            log.ScenarioStarted(0, "quickstart", "run-1", "modern");
            log.Statistics(2, KnownLog.Snapshot(2, "run-1", "quickstart", "vm0", final: false));
        }, "hypervisor20261121.json");
        LogFiles.Write(directory, log =>
        {
            log.Invalidation(3, new Invalidation());
            log.Statistics(4, KnownLog.Snapshot(4, "run-1", "quickstart", "vm0", final: false));
        }, "hypervisor20261121_001.json");
        LogFiles.Write(directory, log => log.Invalidation(3, new Invalidation()), "hypervisor20261121.txt");

        var report = LogAnalyzer.Analyze([directory.Path], AnalyzeFilter.None);
        Assert.Multiple(() =>
        {
            Assert.That(report.Input.Files.Select(f => Path.GetFileName(f.Path)),
                Is.EqualTo(new[] { "hypervisor20261121.json", "hypervisor20261121_001.json", "hypervisor20261121_002.json" }),
                "base file first, then the roll suffixes in order; the .txt file is not a log");
            Assert.That(report.Invalidations.Total, Is.EqualTo(1), "the .txt file's invalidation is not read");
            Assert.That(report.Timeline.Points.Sum(p => p.FaultRetries), Is.EqualTo(60),
                "deltas between successive statistics add up to the final count");
            Assert.That(report.Timeline.Points.Take(10).Select(p => p.FaultRetries), Is.All.EqualTo(6),
                "6 retries per second between every pair of successive statistics, across file boundaries");
            Assert.That(report.Faults.FinalStreams, Is.EqualTo(1), "the final statistics in the last file counts");
        });
    }

    [Test]
    public void Files_named_explicitly_are_read_in_the_order_given()
    {
        using var directory = new TempDirectory();
        var b = LogFiles.Write(directory, log => log.Invalidation(1, new Invalidation { RunId = "b" }), "b.json");
        var a = LogFiles.Write(directory, log => log.Invalidation(0, new Invalidation { RunId = "a" }), "a.json");
        var report = LogAnalyzer.Analyze([b, a], AnalyzeFilter.None);
        Assert.That(report.Runs.Select(r => r.RunId), Is.EqualTo(new[] { "b", "a" }), "runs appear in reading order");
    }

    [Test]
    public void Times_before_the_first_event_extend_the_timeline_backwards()
    {
        using var directory = new TempDirectory();
        var report = LogFiles.Analyze(directory, log =>
        {
            log.Invalidation(10, new Invalidation());
            log.Invalidation(3, new Invalidation());
        });
        Assert.Multiple(() =>
        {
            Assert.That(report.Timeline.Points[0].StartSeconds, Is.EqualTo(-7), "the earlier event is 7 s before the origin");
            Assert.That(report.Timeline.Points, Has.Count.EqualTo(8), "one bucket per second from -7 to 0");
            Assert.That(report.Timeline.Points.Sum(p => p.Invalidations), Is.EqualTo(2), "both counted");
        });
    }
}
