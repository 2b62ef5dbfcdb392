using System.Text.RegularExpressions;
using Hypervisor.Host.Analyze.Output;
using Hypervisor.Host.Tests.Analyze.Support;
using NUnit.Framework;

namespace Hypervisor.Host.Tests.Analyze;

/// <summary>The rate-over-time chart: no bucket before the log's first event, labels at whole bucket starts only.</summary>
[TestFixture]
public partial class SvgChartsTests
{
    [GeneratedRegex("<text class=\"xl\"[^>]*>([^<]*)</text>")]
    private static partial Regex AxisLabel();

    private static List<string> Labels(IReadOnlyList<(double X, double Y)> points, long bucket) =>
        [.. AxisLabel().Matches(SvgCharts.Line("rate", points, "per second", bucket)).Select(m => m.Groups[1].Value)];

    [Test]
    public void Whole_second_buckets_get_whole_second_labels_even_from_a_bucket_before_the_first_event()
    {
        // Statistics spread retries into the second before the first event: the series starts at -1 s.
        var points = Enumerable.Range(-1, 11).Select(s => ((double)s, 10.0)).ToList();
        Assert.That(Labels(points, 1), Is.EqualTo(new[] { "0 s", "2 s", "4 s", "6 s", "8 s" }), "whole, evenly spaced seconds");
    }

    [TestCase(1, 3, new[] { 0.0, 1, 2, 3 })]
    [TestCase(1, 100, new[] { 0.0, 20, 40, 60, 80, 100 })]
    [TestCase(4, 64, new[] { 0.0, 20, 40, 60 })]
    [TestCase(8, 8, new[] { 0.0, 8 })]
    public void Ticks_are_multiples_of_the_bucket_width(long bucket, double end, double[] expected)
    {
        var ticks = SvgCharts.TimeTicks(0, end, bucket);
        Assert.That(ticks, Is.EqualTo(expected), $"labels for 0..{end} s in {bucket} s buckets");
        Assert.That(ticks, Has.All.Matches<double>(t => t % bucket == 0), "each a bucket start");
    }

    [Test]
    public void A_run_clock_that_started_before_the_first_event_adds_no_bucket_before_it()
    {
        using var directory = new TempDirectory();
        var report = LogFiles.Analyze(directory, log =>
        {
            log.ScenarioStarted(0, "quickstart", "run-1", "modern");
            // At 1.0 s of the log the run's own clock says 1.3 s: it started 0.3 s before its first event was logged.
            log.Statistics(1.0, new Statistics { Scenario = "quickstart", RunId = "run-1", ElapsedSeconds = 1.3, Faults = 130,
                RetriesByReason = Statistics.Reasons(13, 0) });
        });
        Assert.That(report.Timeline.Points.Select(p => p.StartSeconds), Has.All.GreaterThanOrEqualTo(0), "nothing before the origin");
        Assert.That(report.Timeline.Points.Sum(p => p.FaultRetries), Is.EqualTo(13), "and no retry lost");
    }
}
