using System.Globalization;
using Hypervisor.Host.Analyze.Aggregation;
using Hypervisor.Host.Analyze.Input;
using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Analyze;

/// <summary>Turning the aggregates into an <see cref="AnalysisReport"/>.</summary>
internal sealed partial class AnalysisAccumulator
{
    private const int HotRangesReported = 10;

    public AnalysisReport Build(IReadOnlyList<InputFile> files, ProblemReport problems)
    {
        var windows = _statistics.Values.Select(t => (Track: t, Counted: t.Windowed)).Where(w => w.Counted is not null).ToList();
        var counted = windows.Select(w => w.Counted!).ToList();
        var runSeconds = _runOrder.Sum(r => r.Seconds);
        return new AnalysisReport
        {
            Input = new InputReport(files, _filter.Describe(), files.Sum(f => f.Lines), EventsRead, EventsAnalyzed,
                Enum.GetValues<LogEventKind>().Where(k => _eventsByKind[(int)k] != 0)
                    .ToDictionary(EventNames.Of, k => _eventsByKind[(int)k], StringComparer.Ordinal),
                _firstAnalyzed, _lastAnalyzed, problems),
            Invalidations = BuildInvalidations(runSeconds),
            ByEvent = Rows(_byEvent),
            ByNotifierEvent = Rows(_byNotifierEvent),
            ByGuest = Rows(_byGuest),
            ByScenario = Rows(_byScenario),
            ByProfile = Rows(_byProfile.ToDictionary(p => p.Key, p => p.Value.Sums, StringComparer.Ordinal)),
            ByClient = ClientRows(_byClient, byKind: false),
            ByClientKind = ClientRows(_byClientKind, byKind: true),
            Faults = BuildFaults(counted, windows.Count(w => w.Track.Counted is { Final: true })),
            Tlb = new TlbReport(_all.Sums.TlbFlushed, counted.Sum(c => c.TlbFlushes), counted.Sum(c => c.TlbFlushWaitMicros),
                Ratio.Of(counted.Sum(c => c.TlbFlushWaitMicros), counted.Sum(c => c.TlbFlushes))),
            Aging = new AgingReport(counted.Sum(c => c.YoungCalls), counted.Sum(c => c.YoungTrue),
                Ratio.Of(counted.Sum(c => c.YoungTrue), counted.Sum(c => c.YoungCalls))),
            RetryBursts = Counts(_retryBursts),
            Violations = Counts(_violations),
            HostActivities = Counts(_hostActivities),
            Timeline = new TimelineReport(_origin, _timeline.BucketSeconds, _timeline.ToPoints()),
            HotRanges = new HotRangeReport(_hotRanges.ErrorBound, [.. _hotRanges.Top(HotRangesReported, k => (k.Guest, k.Base))
                .Select(p => new HotRange(p.Key.Guest, Hex(p.Key.Base), Hex(p.Key.Base + HotRangeBytes), p.Value))]),
            ProfileComparison = BuildComparison(windows),
            Runs = [.. _runOrder.Select(BuildRun)],
            Consistency = BuildConsistency(),
        };
    }

    private InvalidationReport BuildInvalidations(double runSeconds)
    {
        var s = _all.Sums;
        var d = _all.DurationMicros;
        var invalidationSeconds = s.DurationMicros / 1e6;
        return new InvalidationReport(
            s.Count, s.Pages, Ratio.Of(s.Pages, s.Count), _all.Pages.ToBuckets(),
            s.SptesZapped, Ratio.Of(s.SptesZapped, s.Count), s.NothingZapped, Ratio.Of(s.NothingZapped, s.Count),
            _all.SptesZapped.ToBuckets(), s.SinglePage, Ratio.Of(s.SinglePage, s.Count), s.TlbFlushed,
            new DurationReport(d.Count, d.Sum, d.Mean, d.Min, d.Quantile(0.50), d.Quantile(0.90), d.Quantile(0.99), d.Max),
            new InProgressReport(invalidationSeconds, runSeconds, Ratio.Of(invalidationSeconds, runSeconds)));
    }

    private static FaultReport BuildFaults(List<StatisticsSnapshot> counted, int finalStreams)
    {
        var faults = counted.Sum(c => c.Faults);
        var retries = counted.Sum(c => c.FaultRetries);
        var reasons = counted.SelectMany(c => c.RetriesByReason)
            .GroupBy(p => p.Key, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(p => p.Value), StringComparer.Ordinal);
        return new FaultReport(counted.Sum(c => c.Accesses), counted.Sum(c => c.TlbHits), faults, retries,
            Ratio.Of(retries, faults), reasons, counted.Sum(c => c.MmioExits), counted.Count, finalStreams);
    }

    private List<ProfileComparisonRow>? BuildComparison(List<(StatisticsTrack Track, StatisticsSnapshot? Counted)> windows)
    {
        var profiles = _byProfile.Keys.Concat(_runOrder.Select(r => r.Profile).OfType<string>())
            .Where(p => p != InvalidationRecord.Missing)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (profiles.Count < 2)
        {
            return null;
        }

        return [.. profiles.Select(profile =>
        {
            var runs = _runOrder.Where(r => r.Profile == profile).ToList();
            var runIds = runs.Select(r => r.RunId).ToHashSet(StringComparer.Ordinal);
            var stats = windows.Where(w => runIds.Contains(w.Track.RunId)).Select(w => w.Counted!).ToList();
            var seconds = runs.Sum(r => r.Seconds);
            var aggregate = _byProfile.GetValueOrDefault(profile) ?? new InvalidationAggregate();
            var s = aggregate.Sums;
            long faults = stats.Sum(c => c.Faults), retries = stats.Sum(c => c.FaultRetries);
            return new ProfileComparisonRow(profile, runs.Count, seconds, s.Count, Ratio.Of(s.Count, seconds),
                Ratio.Of(s.Pages, s.Count), Ratio.Of(s.SinglePage, s.Count), Ratio.Of(s.SptesZapped, s.Count),
                faults, retries, Ratio.Of(retries, faults),
                aggregate.DurationMicros.Quantile(0.50), aggregate.DurationMicros.Quantile(0.99));
        })];
    }

    private RunReport BuildRun(RunState run) => new(
        run.RunId, run.Scenario, run.Profile, run.Seed, run.Mutation, run.Guests, run.Seconds, run.Started,
        run.EndedAfterSeconds is not null, run.ExitCode, run.HasSummary,
        _statistics.Values.Any(t => t.RunId == run.RunId && t.Counted is { Final: true }),
        run.Invalidations.Count, run.ViolationEvents);

    private ConsistencyReport BuildConsistency()
    {
        if (_filter.HasTimeWindow)
        {
            return new ConsistencyReport("a --since/--until window cuts runs short, so their totals cannot match the summaries", []);
        }

        var checks = new List<RunConsistency>();
        foreach (var run in _runOrder.Where(r => r.HasSummary))
        {
            var scope = _filter.Guest ?? "all guests";
            if (run.Summary is not { } summary)
            {
                // A summary without totals for this scope (no Totals, or no line for the --guest): nothing can agree.
                var missing = new ConsistencyField("summary has no totals for this scope", 0, 0, Match: false);
                checks.Add(new RunConsistency(run.RunId, run.Scenario, scope, [missing]));
                continue;
            }

            var retries = _statistics.Values.Where(t => t.RunId == run.RunId).Sum(t => t.Counted?.FaultRetries ?? 0);
            var log = run.Invalidations;
            checks.Add(new RunConsistency(run.RunId, run.Scenario, scope,
            [
                Field("invalidations", log.Count, summary.Invalidations),
                Field("sptesZapped", log.SptesZapped, summary.SptesZapped),
                Field("tlbFlushes", log.TlbFlushed, summary.TlbFlushes),
                Field("faultRetries", retries, summary.FaultRetries),
            ]));
        }

        return new ConsistencyReport(null, checks);
    }

    private static ConsistencyField Field(string name, long fromLog, long fromSummary) => new(name, fromLog, fromSummary, fromLog == fromSummary);

    private static List<GroupRow> Rows(Dictionary<string, GroupCounter> groups)
    {
        var total = groups.Values.Sum(g => g.Count);
        return [.. groups.OrderByDescending(g => g.Value.Count).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var c = g.Value;
            return new GroupRow(g.Key, c.Count, Ratio.Of(c.Count, total), c.Pages, Ratio.Of(c.Pages, c.Count), c.SptesZapped,
                Ratio.Of(c.NothingZapped, c.Count), Ratio.Of(c.SinglePage, c.Count), Ratio.Of(c.DurationMicros, c.Count));
        })];
    }

    private static CountReport Counts(Dictionary<string, long> counts) => new(
        counts.Values.Sum(),
        counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));

    private static string Hex(ulong address) => "0x" + address.ToString("x", CultureInfo.InvariantCulture);
}
