using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>The check of log-derived totals against each run's summary catches a disagreement, field by field.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class ConsistencyTests
{
    [Test]
    public void A_lost_invalidation_event_shows_as_a_mismatch_of_that_field_only()
    {
        using var directory = new TempDirectory();
        var report = LogFiles.Analyze(directory, log =>
        {
            KnownLog.Write(log);
            // A second run whose summary counts one invalidation (of 0 zaps, no flush) that never reached the log.
            log.ScenarioStarted(20, "quickstart", "run-2", "modern");
            log.Invalidation(21, new Invalidation { RunId = "run-2", SptesZapped = 3, Pages = 4 });
            log.RunSummary(22, "quickstart", "run-2", "modern", 2, new Totals(Invalidations: 2, SptesZapped: 3, TlbFlushes: 1, FaultRetries: 0));
        });

        var run2 = report.Consistency.Runs.Single(r => r.RunId == "run-2");
        Assert.Multiple(() =>
        {
            Assert.That(report.Consistency.Mismatches, Is.EqualTo(1), "one run disagrees");
            Assert.That(report.Consistency.Runs.Single(r => r.RunId == "run-1").AllMatch, Is.True, "the other agrees");
            Assert.That(run2.Fields.Where(f => !f.Match).Select(f => (f.Field, f.FromLog, f.FromSummary)),
                Is.EqualTo(new[] { ("invalidations", 1L, 2L) }), "only the invalidation count differs, with both values");
        });
    }

    [Test]
    public void A_summary_without_the_filtered_guest_is_reported_as_unmatched()
    {
        using var directory = new TempDirectory();
        var report = LogFiles.Analyze(directory, log =>
        {
            log.Invalidation(1, new Invalidation { Guest = "vm7" });
            log.RunSummary(2, "quickstart", "run-1", "modern", 2, new Totals(1, 1, 1, 0));
        }, new Hypervisor.Host.Analyze.AnalyzeFilter { Guest = "vm7" });
        Assert.That(report.Consistency.Runs.Single().AllMatch, Is.False, "the summary has no line for vm7: nothing agrees");
    }
}
