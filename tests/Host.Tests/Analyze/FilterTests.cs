using Hypervisor.Host.Analyze;
using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>--guest, --scenario, --since and --until, on both layouts (compact invalidations name their run, not their scenario).</summary>
[TestFixture(LogLayout.Compact)]
[TestFixture(LogLayout.JsonFormatter)]
[CancelAfter(30_000)]
public class FilterTests(LogLayout layout)
{
    private TempDirectory _directory = null!;
    private string _path = null!;

    [OneTimeSetUp]
    public void WriteTwoScenarios()
    {
        _directory = new TempDirectory();
        _path = LogFiles.Write(_directory, log =>
        {
            KnownLog.Write(log, "run-1", "modern");
            KnownLog.Write(log, "run-2", "modern", offset: 100, scenario: "cow-storm");
        }, layout: layout);
    }

    [OneTimeTearDown]
    public void RemoveDirectory() => _directory.Dispose();

    [Test]
    public void Guest_keeps_that_guests_events_and_checks_its_summary_line()
    {
        var report = Analyze(new AnalyzeFilter { Guest = "VM1" });
        Assert.Multiple(() =>
        {
            Assert.That(report.Invalidations.Total, Is.EqualTo(50), "25 vm1 invalidations per run, guest names ignore case");
            Assert.That(report.ByGuest.Select(g => g.Key), Is.EqualTo(new[] { "vm1" }), "only vm1");
            Assert.That(report.Faults.FaultRetries, Is.EqualTo(120), "vm1's 60 retries in each run");
            Assert.That(report.Runs, Has.Count.EqualTo(2), "runs are kept: their start events have no guest");
            Assert.That(report.Consistency.Runs.Select(r => r.Scope), Is.All.EqualTo("VM1"), "checked against vm1's summary line");
            Assert.That(report.Consistency.Runs.Select(r => r.AllMatch), Is.All.True, "vm1's counts agree with its line");
        });
    }

    [Test]
    public void Scenario_keeps_that_scenarios_runs()
    {
        var report = Analyze(new AnalyzeFilter { Scenario = "cow-storm" });
        Assert.Multiple(() =>
        {
            Assert.That(report.Invalidations.Total, Is.EqualTo(100), "one run of cow-storm");
            Assert.That(report.Runs.Select(r => r.RunId), Is.EqualTo(new[] { "run-2" }), "only its run");
            Assert.That(report.Input.EventsByName.ContainsKey("DaemonStarted"), Is.True, "events without a scenario pass");
        });
    }

    [Test]
    public void Since_and_until_as_durations_from_the_first_event_cut_a_half_open_window()
    {
        // Invalidations every 0.1 s from 0 to 9.9 s: [2 s, 5 s) holds 30 of them.
        var report = Analyze(new AnalyzeFilter { Since = TimeBound.Parse("2s", "--since"), Until = TimeBound.Parse("5s", "--until") });
        Assert.Multiple(() =>
        {
            Assert.That(report.Invalidations.Total, Is.EqualTo(30), "invalidations at 2.0 through 4.9 s");
            Assert.That(report.Faults.FaultRetries, Is.EqualTo(2 * 24),
                "the increases the 2 s and 4 s statistics report (12 each, per guest), as the timeline places them");
            Assert.That(report.Faults.Faults, Is.EqualTo(2 * 400), "likewise 200 faults each");
            Assert.That(report.Consistency.Skipped, Is.Not.Null, "a window cuts runs short, so no summary check");
            Assert.That(report.Runs.Single().Seconds, Is.EqualTo(2.9).Within(1e-9), "run time seen in the window: 2.0 to 4.9 s");
        });
    }

    [Test]
    public void Since_and_until_as_timestamps_compare_with_each_lines_timestamp()
    {
        var since = SyntheticLog.DefaultOrigin.AddSeconds(100).ToString("O");
        var report = Analyze(new AnalyzeFilter { Since = TimeBound.Parse(since, "--since") });
        Assert.Multiple(() =>
        {
            Assert.That(report.Invalidations.Total, Is.EqualTo(100), "only the second run is at or after the timestamp");
            Assert.That(report.Runs.Select(r => r.RunId), Is.EqualTo(new[] { "run-2" }), "the first run is before it");
        });

        var until = Analyze(new AnalyzeFilter { Until = TimeBound.Parse("2026-11-21T20:05:01.5Z", "--until") });
        Assert.That(until.Invalidations.Total, Is.EqualTo(5), "invalidations at 0.0 to 0.4 s are before 0.5 s");
    }

    [Test]
    public void A_filter_that_matches_nothing_is_bad_input()
    {
        var error = Assert.Throws<LogInputException>(() => Analyze(new AnalyzeFilter { Guest = "vm9" }), "nothing to report");
        Assert.That(error!.Message, Is.EqualTo("--guest vm9: no event of this guest (the logs have vm0, vm1)"),
            "the message names the filter and what the logs hold");
    }

    [TestCase("yesterday")]
    [TestCase("5 parsecs")]
    public void A_malformed_time_bound_is_bad_input(string text)
    {
        var error = Assert.Throws<LogInputException>(() => TimeBound.Parse(text, "--since"), "not a time");
        Assert.That(error!.Message, Does.StartWith("--since: expected an ISO-8601 timestamp"), "the message names the option");
    }

    private Hypervisor.Host.Analyze.Report.AnalysisReport Analyze(AnalyzeFilter filter) => LogAnalyzer.Analyze([_path], filter);
}
