using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Analyze.Output;

/// <summary>
/// Lays an <see cref="AnalysisReport"/> out as the tables every text format renders, in reading order: the overview,
/// the invalidation breakdowns and histograms, faults, the profile comparison, the timeline, ranges, runs and the
/// consistency check, then what was read.
/// </summary>
internal static partial class ReportTables
{
    private static readonly string[] GroupColumns =
        ["invalidations", "share", "pages", "pages/inv", "SPTEs zapped", "zapped nothing", "single-page", "mean µs"];

    /// <summary>Builds the tables; the timeline is coarsened to at most <paramref name="maxTimelineRows"/> rows.</summary>
    public static IReadOnlyList<ReportTable> Build(AnalysisReport report, int maxTimelineRows)
    {
        var tables = new List<ReportTable>
        {
            Overview(report),
            Groups("by-event", "Invalidations by host event", "event", report.ByEvent),
            Groups("by-notifier-event", "Invalidations by notifier event", "notifier event", report.ByNotifierEvent),
            Groups("by-guest", "Invalidations by guest", "guest", report.ByGuest),
            Groups("by-scenario", "Invalidations by scenario", "scenario", report.ByScenario),
            Groups("by-profile", "Invalidations by notifier profile", "profile", report.ByProfile),
            Clients("by-client", "Other secondary MMUs by client", "client", report.ByClient, byKind: false),
            Clients("by-client-kind", "Other secondary MMUs by kind", "kind", report.ByClientKind, byKind: true),
            Histogram("pages-histogram", "Pages per invalidation", "pages", report.Invalidations.PagesHistogram),
            Histogram("zapped-histogram", "SPTEs zapped per invalidation", "SPTEs zapped", report.Invalidations.SptesZappedHistogram),
            Duration(report.Invalidations.Duration),
            RetryReasons(report.Faults),
        };
        if (report.ProfileComparison is { } comparison)
        {
            tables.Add(Comparison(comparison));
        }

        tables.Add(Timeline(report.Timeline.Coarsen(maxTimelineRows)));
        tables.Add(HotRanges(report.HotRanges));
        tables.AddRange(RunTables(report));
        tables.AddRange(InputTables(report.Input));
        return tables;
    }

    private static ReportTable Overview(AnalysisReport r)
    {
        var i = r.Invalidations;
        var f = r.Faults;
        List<object?[]> rows =
        [
            ["invalidations", i.Total],
            ["pages per invalidation", i.PagesPerInvalidation],
            ["SPTEs zapped", i.SptesZapped],
            ["SPTEs zapped per invalidation", i.SptesZappedPerInvalidation],
            ["spurious (zapped nothing)", new Share(i.NothingZappedShare)],
            ["single-page (invalidate_page)", new Share(i.SinglePageShare)],
            ["invalidations that flushed TLBs", i.TlbFlushed],
            ["TLB flushes (statistics)", r.Tlb.FlushesFromStatistics],
            ["TLB flush wait µs (statistics)", r.Tlb.FlushWaitMicros],
            ["TLB flush wait µs per flush", r.Tlb.WaitMicrosPerFlush],
            ["duration p50 µs", i.Duration.P50Micros],
            ["duration p99 µs", i.Duration.P99Micros],
            ["duration max µs", i.Duration.MaxMicros],
            ["invalidation in progress s", i.InProgress.InvalidationSeconds],
            ["run time s", i.InProgress.RunSeconds],
            ["in progress per run second", new Share(i.InProgress.FractionOfRunTime)],
            ["accesses", f.Accesses],
            ["faults", f.Faults],
            ["fault retries", f.FaultRetries],
            ["retries per fault", new Share(f.RetriesPerFault)],
            ["statistics streams (final)", $"{f.Streams} ({f.FinalStreams} final)"],
            ["aging calls", r.Aging.YoungCalls],
            ["aging calls that found the page young", new Share(r.Aging.YoungShare)],
            ["retry bursts", r.RetryBursts.Total],
            ["violations", r.Violations.Total],
            ["runs", r.Runs.Count],
            ["consistency with run summaries", ConsistencyVerdict(r.Consistency)],
        ];
        return new ReportTable("overview", "Overview", ["metric", "value"], rows)
        {
            Note = string.IsNullOrEmpty(r.Input.Filter) ? null : "filters: " + r.Input.Filter,
        };
    }

    /// <summary>One line saying whether the log agrees with the run summaries.</summary>
    public static string ConsistencyVerdict(ConsistencyReport c) =>
        c.Skipped is not null ? "skipped" :
        c.Runs.Count == 0 ? "no run summary in the logs" :
        c.Mismatches == 0 ? (c.Runs.Count == 1 ? "the run matches its summary" : $"all {c.Runs.Count} runs match their summaries")
        : $"{c.Mismatches} of {c.Runs.Count} runs disagree with their summaries";

    private static ReportTable Groups(string id, string title, string keyName, IReadOnlyList<GroupRow> groups) =>
        new(id, title, [keyName, .. GroupColumns], [.. groups.Select(g => (object?[])
        [
            g.Key, g.Invalidations, new Share(g.Share), g.Pages, g.PagesPerInvalidation, g.SptesZapped,
            new Share(g.NothingZappedShare), new Share(g.SinglePageShare), g.MeanDurationMicros,
        ])]);

    /// <summary>The non-empty buckets (charts keep the empty ones between, tables need not).</summary>
    private static ReportTable Histogram(string id, string title, string keyName, IReadOnlyList<HistogramBucket> buckets) =>
        new(id, title, [keyName, "invalidations", "share"],
            [.. buckets.Where(b => b.Count != 0).Select(b => (object?[])[b.Label, b.Count, new Share(b.Share)])]);

    private static ReportTable Duration(DurationReport d) =>
        new("duration", "Invalidation duration", ["statistic", "µs"],
        [
            ["p50", d.P50Micros], ["p90", d.P90Micros], ["p99", d.P99Micros], ["max", d.MaxMicros],
            ["min", d.MinMicros], ["mean", d.MeanMicros], ["total", d.TotalMicros],
        ])
        {
            Note = "percentiles within 1%; min, max, mean exact",
        };

    private static ReportTable RetryReasons(FaultReport f) =>
        new("retries-by-reason", "Fault retries by reason", ["reason", "retries", "share"],
            [.. f.RetriesByReason.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => (object?[])[p.Key, p.Value, new Share(Ratio.Of(p.Value, f.FaultRetries))])])
        {
            Note = $"{CellText.Human(f.FaultRetries)} retries over {CellText.Human(f.Faults)} faults ({CellText.Human(new Share(f.RetriesPerFault))} per fault), "
                + "from the last statistics of each run and guest",
        };

    private static ReportTable Comparison(IReadOnlyList<ProfileComparisonRow> rows)
    {
        (string Metric, Func<ProfileComparisonRow, object?> Value)[] metrics =
        [
            ("runs", r => r.Runs),
            ("run time s", r => r.RunSeconds),
            ("invalidations", r => r.Invalidations),
            ("invalidations per second", r => r.InvalidationsPerSecond),
            ("pages per invalidation", r => r.PagesPerInvalidation),
            ("single-page share", r => new Share(r.SinglePageShare)),
            ("SPTEs zapped per invalidation", r => r.SptesZappedPerInvalidation),
            ("faults", r => r.Faults),
            ("fault retries", r => r.FaultRetries),
            ("retries per fault", r => new Share(r.RetriesPerFault)),
            ("duration p50 µs", r => r.DurationP50Micros),
            ("duration p99 µs", r => r.DurationP99Micros),
        ];
        return new ReportTable("profile-comparison", "Notifier profiles side by side", ["metric", .. rows.Select(r => r.Profile)],
            [.. metrics.Select(m => (object?[])[m.Metric, .. rows.Select(m.Value)])]);
    }

    private static ReportTable Timeline(TimelineReport t) =>
        new("timeline", $"Rates over time ({t.BucketSeconds} s buckets)",
            ["start s", "invalidations", "invalidations/s", "fault retries", "retries/s", "faults", "retries/fault"],
            [.. t.Points.Select(p => (object?[])
            [
                p.StartSeconds, p.Invalidations, p.InvalidationsPerSecond, p.FaultRetries, p.RetriesPerSecond, p.Faults,
                new Share(p.RetriesPerFault),
            ])])
        {
            Note = t.Origin is { } origin ? $"seconds from the first event ({CellText.Human(origin)})" : null,
        };

    private static ReportTable HotRanges(HotRangeReport h) =>
        new("hot-ranges", "Busiest 2 MiB host-virtual ranges", ["rank", "guest", "start hva", "end hva", "invalidations"],
            [.. h.Ranges.Select((r, i) => (object?[])[i + 1, r.Guest, r.StartHva, r.EndHva, r.Invalidations])])
        {
            Note = h.ErrorBound == 0 ? null : $"too many ranges to count exactly: counts may be low by up to {CellText.Human(h.ErrorBound)}",
        };
}
