using Hypervisor.Host.Analyze.Report;
using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>
/// The statistics of a log whose answers are known: totals, breakdowns, histograms, percentiles, faults; the same
/// answers from the compact layout and from the older JsonFormatter one.
/// </summary>
[TestFixture(LogLayout.Compact)]
[TestFixture(LogLayout.JsonFormatter)]
[CancelAfter(30_000)]
public class AnalyzerStatisticsTests(LogLayout layout)
{
    private TempDirectory _directory = null!;
    private AnalysisReport _report = null!;

    [OneTimeSetUp]
    public void AnalyzeTheKnownLog()
    {
        _directory = new TempDirectory();
        _report = LogFiles.AnalyzeKnown(_directory, layout: layout);
    }

    [OneTimeTearDown]
    public void RemoveTheLog() => _directory.Dispose();

    [Test]
    public void Totals_count_every_invalidation_with_its_pages_and_zaps()
    {
        var expected = KnownLog.Invalidations.Select(i => i.Event).ToList();
        var r = _report.Invalidations;
        Assert.Multiple(() =>
        {
            Assert.That(r.Total, Is.EqualTo(100), "one hundred invalidation events were written");
            Assert.That(r.Pages, Is.EqualTo(expected.Sum(i => i.Pages)), "pages add up");
            Assert.That(r.PagesPerInvalidation, Is.EqualTo(6.2).Within(1e-9), "(1+2+4+8+16)/5 pages on average");
            Assert.That(r.SptesZapped, Is.EqualTo(expected.Sum(i => i.SptesZapped)), "zapped SPTEs add up");
            Assert.That(r.NothingZapped, Is.EqualTo(25), "every fourth invalidation zapped nothing");
            Assert.That(r.NothingZappedShare, Is.EqualTo(0.25).Within(1e-9), "a quarter are spurious");
            Assert.That(r.TlbFlushed, Is.EqualTo(75), "the invalidations that zapped something flushed");
            Assert.That(_report.Input.Problems.Total, Is.Zero, "the synthetic log is clean");
        });
    }

    [Test]
    public void Breakdowns_split_the_total_by_event_notifier_event_guest_scenario_and_profile()
    {
        Assert.Multiple(() =>
        {
            Assert.That(_report.ByEvent.ToDictionary(g => g.Key, g => g.Invalidations),
                Is.EqualTo(new Dictionary<string, long> { ["munmap"] = 60, ["reclaim"] = 30, ["copy-on-write"] = 10 }),
                "counts by host event");
            Assert.That(_report.ByEvent.Select(g => g.Key), Is.EqualTo(new[] { "munmap", "reclaim", "copy-on-write" }),
                "the busiest event comes first");
            Assert.That(_report.ByNotifierEvent.ToDictionary(g => g.Key, g => g.Invalidations),
                Is.EqualTo(new Dictionary<string, long> { ["unmap"] = 90, ["clear"] = 10 }), "counts by notifier event");
            Assert.That(_report.ByGuest.ToDictionary(g => g.Key, g => g.Invalidations),
                Is.EqualTo(new Dictionary<string, long> { ["vm0"] = 75, ["vm1"] = 25 }), "counts by guest");
            Assert.That(_report.ByScenario.Single().Key, Is.EqualTo(KnownLog.Scenario), "one scenario");
            Assert.That(_report.ByProfile.Single().Key, Is.EqualTo("modern"), "one profile");
            Assert.That(_report.ByEvent.Sum(g => g.Share), Is.EqualTo(1).Within(1e-9), "shares of a breakdown add up to one");
            Assert.That(_report.ProfileComparison, Is.Null, "no comparison with a single profile");
        });
    }

    [Test]
    public void Pages_histogram_has_one_bucket_per_power_of_two()
    {
        var buckets = _report.Invalidations.PagesHistogram;
        Assert.Multiple(() =>
        {
            Assert.That(buckets.Select(b => b.Label), Is.EqualTo(new[] { "1", "2-3", "4-7", "8-15", "16-31" }), "power-of-two labels");
            Assert.That(buckets.Select(b => b.Count), Is.All.EqualTo(20), "each size was written twenty times");
            Assert.That(_report.Invalidations.SptesZappedHistogram[0].Label, Is.EqualTo("0"), "zero zaps have their own bucket");
            Assert.That(_report.Invalidations.SptesZappedHistogram[0].Count, Is.EqualTo(25), "the spurious ones");
        });
    }

    [Test]
    public void Duration_percentiles_are_within_one_percent_and_the_maximum_is_exact()
    {
        var d = _report.Invalidations.Duration;
        Assert.Multiple(() =>
        {
            Assert.That(d.P50Micros, Is.EqualTo(50).Within(1).Percent, "median of 1..100");
            Assert.That(d.P90Micros, Is.EqualTo(90).Within(1).Percent, "90th percentile of 1..100");
            Assert.That(d.P99Micros, Is.EqualTo(99).Within(1).Percent, "99th percentile of 1..100");
            Assert.That(d.MaxMicros, Is.EqualTo(100), "the maximum is exact");
            Assert.That(d.MinMicros, Is.EqualTo(1), "the minimum is exact");
            Assert.That(d.TotalMicros, Is.EqualTo(5050), "the sum is exact");
        });
    }

    [Test]
    public void Time_in_progress_is_the_sum_of_durations_per_second_of_run()
    {
        var p = _report.Invalidations.InProgress;
        Assert.Multiple(() =>
        {
            Assert.That(p.InvalidationSeconds, Is.EqualTo(0.00505).Within(1e-12), "5050 µs");
            Assert.That(p.RunSeconds, Is.EqualTo(KnownLog.Duration), "the run's recorded length");
            Assert.That(p.FractionOfRunTime, Is.EqualTo(0.000505).Within(1e-12), "5050 µs over ten seconds");
        });
    }

    [Test]
    public void Fault_retries_come_from_the_final_statistics_not_a_later_periodic_one()
    {
        var f = _report.Faults;
        Assert.Multiple(() =>
        {
            Assert.That(f.Faults, Is.EqualTo(2000), "1000 faults per guest at the final statistics");
            Assert.That(f.FaultRetries, Is.EqualTo(120), "60 retries per guest, not the stale later event's 54");
            Assert.That(f.RetriesPerFault, Is.EqualTo(0.06).Within(1e-12), "120 retries over 2000 faults");
            Assert.That(f.RetriesByReason["invalidation-in-progress"], Is.EqualTo(100), "50 per guest");
            Assert.That(f.RetriesByReason["sequence-changed"], Is.EqualTo(20), "10 per guest");
            Assert.That(f.RetriesByReason["install-raced"], Is.Zero, "reasons with zero are still listed");
            Assert.That((f.Streams, f.FinalStreams), Is.EqualTo((2, 2)), "both guests ended with a final statistics event");
        });
    }

    [Test]
    public void Tlb_and_aging_come_from_invalidations_and_final_statistics()
    {
        Assert.Multiple(() =>
        {
            Assert.That(_report.Tlb.InvalidationsWithFlush, Is.EqualTo(75), "invalidations with TlbFlushed");
            Assert.That(_report.Tlb.FlushWaitMicros, Is.EqualTo(1000), "500 µs per guest at the final statistics");
            Assert.That(_report.Tlb.FlushesFromStatistics, Is.EqualTo(150), "75 flushes per guest");
            Assert.That(_report.Aging.YoungCalls, Is.EqualTo(80), "40 calls per guest");
            Assert.That(_report.Aging.YoungTrue, Is.EqualTo(20), "10 young per guest");
        });
    }

    [Test]
    public void Timeline_has_ten_invalidations_per_second_and_retries_spread_between_statistics()
    {
        var points = _report.Timeline.Points;
        Assert.Multiple(() =>
        {
            Assert.That(_report.Timeline.BucketSeconds, Is.EqualTo(1), "a ten-second log keeps one-second buckets");
            Assert.That(points.Take(10).Select(p => p.Invalidations), Is.All.EqualTo(10), "ten invalidations per second");
            Assert.That(points.Sum(p => p.FaultRetries), Is.EqualTo(120), "retry deltas add up to the final counts");
            Assert.That(points.Take(10).Select(p => p.FaultRetries), Is.All.EqualTo(12),
                "12 retries per guest every 2 s are 6 per guest in each second, not spikes at the statistics");
            Assert.That(points.Take(10).Select(p => p.RetriesPerFault), Is.All.EqualTo(0.06).Within(1e-12),
                "12 retries per 200 faults in every second");
        });
    }

    [Test]
    public void Busiest_ranges_are_2_MiB_aligned_and_ranked_by_count()
    {
        var expected = KnownLog.Invalidations
            .GroupBy(i => (i.Event.Guest, Start: i.Event.StartHva & ~((2UL << 20) - 1)))
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Key.Guest, StringComparer.Ordinal)
            .ThenBy(g => g.Key.Start)
            .First();
        var top = _report.HotRanges.Ranges[0];
        Assert.Multiple(() =>
        {
            Assert.That(_report.HotRanges.Ranges, Has.Count.EqualTo(6), "two guests times three 2 MiB ranges");
            Assert.That(top.Invalidations, Is.EqualTo(expected.Count()), "the busiest range comes first");
            Assert.That(top.StartHva, Is.EqualTo($"0x{expected.Key.Start:x}"), "ranges start 2 MiB-aligned");
            Assert.That(Convert.ToUInt64(top.EndHva, 16) - Convert.ToUInt64(top.StartHva, 16), Is.EqualTo(2UL << 20), "and are 2 MiB long");
            Assert.That(_report.HotRanges.ErrorBound, Is.Zero, "few ranges are counted exactly");
        });
    }

    [Test]
    public void Runs_events_and_the_summary_check_are_reported()
    {
        var run = _report.Runs.Single();
        Assert.Multiple(() =>
        {
            Assert.That((run.RunId, run.Scenario, run.Profile), Is.EqualTo((KnownLog.RunId, KnownLog.Scenario, "modern")), "the run is named");
            Assert.That(run.Ended && run.HasSummary && run.HasFinalStatistics, Is.True, "the run ended cleanly");
            Assert.That(_report.Consistency.Runs.Single().AllMatch, Is.True, "log totals agree with the summary");
            Assert.That(_report.Consistency.Runs.Single().Fields.Select(f => f.Field),
                Is.EqualTo(new[] { "invalidations", "sptesZapped", "tlbFlushes", "faultRetries" }), "the four checked fields");
            Assert.That(_report.Input.EventsByName["DaemonStarted"], Is.EqualTo(1), "daemon events are counted by name");
            Assert.That(_report.Input.EventsByName["Invalidation"], Is.EqualTo(100), "invalidations are counted by name");
            Assert.That(_report.RetryBursts.ByKey, Is.EqualTo(new Dictionary<string, long> { ["vm0"] = 2, ["vm1"] = 1 }), "bursts by guest");
            Assert.That(_report.HostActivities.ByKey.Keys, Is.EquivalentTo(new[] { "reclaim/done", "fork/done" }), "host activities by kind");
        });
    }
}
