using Hypervisor.Host.Analyze;
using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>Logs holding both notifier profiles get a side-by-side comparison.</summary>
[TestFixture]
[CancelAfter(30_000)]
public class ProfileComparisonTests
{
    [Test]
    public void Modern_and_legacy_runs_are_compared_side_by_side()
    {
        using var directory = new TempDirectory();
        var modern = LogFiles.Write(directory, log => KnownLog.Write(log, "run-modern", "modern"), "modern.json");
        var legacy = LogFiles.Write(directory, log =>
        {
            log.ScenarioStarted(100, "legacy-vs-modern", "run-legacy", "legacy2008");
            for (var i = 0; i < 40; i++)
            {
                // Legacy: single-page invalidate_page calls, each a little slower.
                log.Invalidation(100 + (i * 0.1), new Invalidation
                {
                    Scenario = "legacy-vs-modern", RunId = "run-legacy", Profile = "legacy2008", Event = "reclaim",
                    SinglePage = i % 2 == 0, Pages = 1, SptesZapped = 1, DurationMicros = 200, ElapsedSeconds = i * 0.1,
                });
            }

            log.Statistics(104, new Statistics
            {
                Scenario = "legacy-vs-modern", RunId = "run-legacy", Final = true, ElapsedSeconds = 4, Faults = 500,
                RetriesByReason = Statistics.Reasons(40, 10),
            });
            log.ScenarioEnded(104, "legacy-vs-modern", "run-legacy", 4);
        }, "legacy.json");

        var report = LogAnalyzer.Analyze([modern, legacy], AnalyzeFilter.None);
        var rows = report.ProfileComparison!.ToDictionary(r => r.Profile);
        Assert.That(rows.Keys, Is.EquivalentTo(new[] { "modern", "legacy2008" }), "one column per profile");
        Assert.Multiple(() =>
        {
            Assert.That(rows["modern"].Invalidations, Is.EqualTo(100), "modern invalidations");
            Assert.That(rows["legacy2008"].Invalidations, Is.EqualTo(40), "legacy invalidations");
            Assert.That(rows["modern"].InvalidationsPerSecond, Is.EqualTo(10).Within(1e-9), "100 over 10 s");
            Assert.That(rows["legacy2008"].InvalidationsPerSecond, Is.EqualTo(10).Within(1e-9), "40 over 4 s");
            Assert.That(rows["legacy2008"].SinglePageShare, Is.EqualTo(0.5).Within(1e-9), "half were invalidate_page");
            Assert.That(rows["modern"].SinglePageShare, Is.Zero, "modern never uses invalidate_page");
            Assert.That(rows["legacy2008"].RetriesPerFault, Is.EqualTo(0.1).Within(1e-9), "50 retries over 500 faults");
            Assert.That(rows["modern"].RetriesPerFault, Is.EqualTo(0.06).Within(1e-9), "120 over 2000");
            Assert.That(rows["legacy2008"].DurationP50Micros, Is.EqualTo(200).Within(1).Percent, "legacy median");
            Assert.That(rows["modern"].DurationP99Micros, Is.EqualTo(99).Within(1).Percent, "modern p99");
            Assert.That(rows["modern"].PagesPerInvalidation, Is.EqualTo(6.2).Within(1e-9), "modern pages per invalidation");
            Assert.That(report.ByProfile.Select(p => p.Key), Is.EquivalentTo(new[] { "modern", "legacy2008" }), "by-profile breakdown");
        });
    }

    [Test]
    public void Profile_names_are_case_insensitive_so_one_profile_gives_no_comparison()
    {
        using var directory = new TempDirectory();
        var report = LogFiles.Analyze(directory, log =>
        {
            KnownLog.Write(log, "run-a", "modern");
            KnownLog.Write(log, "run-b", "Modern", offset: 20);
        });
        Assert.Multiple(() =>
        {
            Assert.That(report.ProfileComparison, Is.Null, "Modern and modern are one profile");
            Assert.That(report.Invalidations.Total, Is.EqualTo(200), "both runs counted");
            Assert.That(report.Consistency.Runs.Select(r => r.AllMatch), Is.EqualTo(new[] { true, true }), "each run checked on its own");
        });
    }
}
