using System.Text.Json;
using Hypervisor.Host.Tests.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Daemon;

/// <summary>
/// The daemon as an operator runs it: <c>hypervisor serve --log-dir DIR</c> with the shipped settings and default
/// scenarios, stopped by SIGTERM a few seconds in. Its log must be complete: every invalidation a run's summary counts
/// is in the file as its own event, nothing lost in the channel, the async sink or the shutdown.
/// </summary>
[TestFixture]
[NonParallelizable]
public class ServeEndToEndTests
{
    private TempDirectory _directory = null!;
    private HypervisorProcess _daemon = null!;
    private int _exitCode;
    private List<LogLine> _log = null!;

    [OneTimeSetUp]
    public void Serve_the_default_scenarios_and_stop_with_SIGTERM()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _directory = new TempDirectory();
        _daemon = HypervisorProcess.Start(_directory.Path, null, "serve", "--log-dir", _directory.Combine("logs"));

        // Named wait: both default scenarios have started (the console log says so), then let them run a while.
        while (CountOccurrences(_daemon.StandardError, " started: seed ") < 2)
        {
            Assert.That(timeout.IsCancellationRequested, Is.False, $"the daemon starts its scenarios within a minute\n{_daemon}");
            Thread.Sleep(100);
        }

        Thread.Sleep(TimeSpan.FromSeconds(3));
        _daemon.Terminate();
        _exitCode = _daemon.WaitForExit(timeout.Token);
        _log = JsonLog.Read(_directory.Combine("logs"));
    }

    [OneTimeTearDown]
    public void Clean_up()
    {
        _daemon?.Dispose();
        _directory?.Dispose();
    }

    [Test]
    public void SIGTERM_stops_the_daemon_with_exit_code_0() =>
        Assert.That(_exitCode, Is.Zero, $"a clean run stopped by SIGTERM exits 0\n{_daemon}");

    [Test]
    public void Every_line_of_the_log_is_an_event_of_the_contract()
    {
        Assert.That(_log.Count(l => l.IsHypervisor), Is.GreaterThan(100), "the log holds the daemon's events");
        LogContract.AssertConforms(_log);
    }

    [Test]
    public void Every_run_that_started_has_exactly_one_summary_and_one_end()
    {
        var started = _log.Where(l => l.Id == 1).Select(l => l.RunId).ToList();
        Assert.That(started, Has.Count.EqualTo(2), "both default scenarios started once within a few seconds");
        Assert.That(started, Is.Unique, "run ids are unique");
        foreach (var run in started)
        {
            Assert.That(_log.Count(l => l.Id == 7 && l.RunId == run), Is.EqualTo(1), $"run {run} has one RunSummary");
            Assert.That(_log.Count(l => l.Id == 2 && l.RunId == run), Is.EqualTo(1), $"run {run} has one ScenarioEnded");
        }
    }

    [Test]
    public void The_log_holds_every_invalidation_the_summaries_count()
    {
        foreach (var summary in _log.Where(l => l.Id == 7))
        {
            var totals = summary.Properties.GetProperty("Summary").GetProperty("Totals");
            var invalidations = _log.Where(l => l.Id == 3 && l.RunId == summary.RunId).ToList();
            Assert.That(totals.GetProperty("Invalidations").GetInt64(), Is.GreaterThan(0),
                $"run {summary.RunId} invalidated something in a few seconds");
            Assert.That(invalidations, Has.Count.EqualTo(totals.GetProperty("Invalidations").GetInt64()),
                $"run {summary.RunId}: one Invalidation event per invalidation the summary counts (no loss)");
            Assert.That(invalidations.Sum(l => l.Long("SptesZapped")), Is.EqualTo(totals.GetProperty("SptesZapped").GetInt64()),
                $"run {summary.RunId}: the events' SptesZapped add up to the summary's");
        }
    }

    [Test]
    public void Invalidation_events_name_their_cause_and_range_in_the_contract_format()
    {
        var causes = new[] { "munmap", "madvise-dont-need", "mprotect", "fork", "copy-on-write", "exit", "reclaim", "writeback",
            "migration", "ksm-merge", "oom-reap", "other" };
        var events = new[] { "unmap", "clear", "protection-vma", "protection-page", "soft-dirty", "release", "migrate" };
        foreach (var line in _log.Where(l => l.Id == 3).Take(2000))
        {
            Assert.That(line.String("Event"), Is.AnyOf(causes), "Event is the kebab-case cause");
            Assert.That(line.String("NotifierEvent"), Is.AnyOf(events), "NotifierEvent is the kebab-case notifier event");
            Assert.That(line.String("StartHva"), Does.Match("^0x[0-9a-f]+$"), "StartHva is a hex string");
            Assert.That(line.Long("Pages"), Is.GreaterThanOrEqualTo(1), "the range's length in pages (it ends at StartHva + Pages x 4 KiB)");
            Assert.That(line.Properties.GetProperty("TlbFlushed").ValueKind, Is.AnyOf(JsonValueKind.True, JsonValueKind.False), "TlbFlushed is a bool");
            Assert.That(line.Properties.GetProperty("DurationMicros").ValueKind, Is.EqualTo(JsonValueKind.Number), "DurationMicros is a number");
        }
    }

    [Test]
    public void The_final_statistics_and_the_daemon_lifecycle_are_logged()
    {
        Assert.That(_log.Count(l => l.Id == 10), Is.EqualTo(1), "one DaemonStarted");
        Assert.That(_log.Count(l => l.Id == 11), Is.EqualTo(1), "one DaemonStopping");
        Assert.That(_log.Count(l => l.Id == 13), Is.GreaterThanOrEqualTo(1), "PipelineStatistics at least at the end");
        var final = _log.Last(l => l.Id == 13);
        Assert.That(final.Long("Invalidations"), Is.EqualTo(_log.Count(l => l.Id == 3)),
            "the last PipelineStatistics counts every Invalidation event written");
        Assert.That(_log.Count(l => l.Id == 5 && l.Properties.GetProperty("Final").GetBoolean()), Is.EqualTo(3),
            "one final Statistics event per guest (steady-churn has two, legacy-churn one)");
        Assert.That(_log.Where(l => l.Id == 5).Select(l => l.Properties.GetProperty("RetriesByReason").ValueKind),
            Is.All.EqualTo(JsonValueKind.Object), "RetriesByReason is a JSON object");
    }

    private static int CountOccurrences(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
