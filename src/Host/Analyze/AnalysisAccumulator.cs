using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Hypervisor.Host.Analyze.Aggregation;
using Hypervisor.Host.Analyze.Input;

namespace Hypervisor.Host.Analyze;

/// <summary>
/// Folds events, one at a time and in reading order, into aggregates whose size does not grow with the log: sums,
/// histograms, a quantile sketch, a bounded timeline and bounded range counts, plus one small record per run and per
/// (run, guest). <see cref="Build"/> turns them into the report.
/// </summary>
internal sealed partial class AnalysisAccumulator(AnalyzeFilter filter)
{
    /// <summary>Invalidations are grouped by the 2 MiB-aligned range their start falls in.</summary>
    public const ulong HotRangeBytes = 2UL << 20;

    private const int HotRangeCapacity = 1 << 16;

    private readonly AnalyzeFilter _filter = filter;
    private readonly InvalidationAggregate _all = new();
    private readonly Dictionary<string, InvalidationAggregate> _byProfile = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupCounter> _byEvent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupCounter> _byNotifierEvent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupCounter> _byGuest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GroupCounter> _byScenario = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RunState> _runs = new(StringComparer.Ordinal);
    private readonly List<RunState> _runOrder = [];
    private readonly Dictionary<string, string> _runScenarios = new(StringComparer.Ordinal);
    private readonly Dictionary<(string RunId, string Guest), StatisticsTrack> _statistics = [];
    private readonly RateSeries _timeline = new();
    private readonly HeavyHitters<(string Guest, ulong Base)> _hotRanges = new(HotRangeCapacity);
    private readonly long[] _eventsByKind = new long[Enum.GetValues<LogEventKind>().Length];
    private readonly Dictionary<string, long> _violations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _retryBursts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _hostActivities = new(StringComparer.Ordinal);

    private DateTimeOffset? _origin;
    private DateTimeOffset? _since;
    private DateTimeOffset? _until;
    private DateTimeOffset? _lastTimestamp;
    private DateTimeOffset? _firstAnalyzed;
    private DateTimeOffset? _lastAnalyzed;

    /// <summary>Events of the catalogue read, before filtering.</summary>
    public long EventsRead { get; private set; }

    /// <summary>Events that passed the filters.</summary>
    public long EventsAnalyzed { get; private set; }

    /// <summary>The guest names seen before filtering (the first few), to explain a --guest that matched nothing.</summary>
    public NameSample Guests { get; } = new();

    /// <summary>The scenario names seen before filtering.</summary>
    public NameSample Scenarios { get; } = new();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(in LogEvent e)
    {
        EventsRead++;
        var timestamp = e.Timestamp ?? _lastTimestamp;
        _lastTimestamp = timestamp;
        if (_origin is null && timestamp is { } first)
        {
            // The first event fixes the origin of the timeline and of --since/--until durations.
            _origin = first;
            _since = _filter.Since?.Resolve(first);
            _until = _filter.Until?.Resolve(first);
        }

        // '|', not '||': both samples see every event, so a filter that matched nothing can list what was there.
        if ((_filter.Guest is { } guest && !Guests.Matches(guest, e.Text("Guest"u8)))
            | (_filter.Scenario is { } scenario && !Scenarios.Matches(scenario, ScenarioOf(e))))
        {
            return;
        }

        var beforeWindow = timestamp < _since;
        if (beforeWindow || timestamp >= _until)
        {
            if (beforeWindow && e.Kind == LogEventKind.Statistics)
            {
                // Counters are cumulative: the last snapshot before the window is what the window's counts start from.
                Track(e).BeforeWindow(StatisticsSnapshot.From(e));
            }

            return;
        }

        EventsAnalyzed++;
        _eventsByKind[(int)e.Kind]++;
        if (timestamp is { } at)
        {
            _firstAnalyzed = at < _firstAnalyzed || _firstAnalyzed is null ? at : _firstAnalyzed;
            _lastAnalyzed = at > _lastAnalyzed || _lastAnalyzed is null ? at : _lastAnalyzed;
        }

        var seconds = timestamp is { } ts && _origin is { } origin ? (ts - origin).TotalSeconds : 0;
        switch (e.Kind)
        {
            case LogEventKind.ScenarioStarted:
                Run(e).Describe(e);
                break;
            case LogEventKind.ScenarioEnded:
                var ended = Run(e);
                ended.EndedAfterSeconds = e.OptionalDouble("DurationSeconds"u8) ?? ended.EndedAfterSeconds;
                ended.ExitCode = e.Has("ExitCode"u8) ? (int)e.Int64("ExitCode"u8) : ended.ExitCode;
                break;
            case LogEventKind.Invalidation:
                AddInvalidation(e, seconds);
                break;
            case LogEventKind.RetryBurst:
                Increment(_retryBursts, e.Text("Guest"u8) ?? InvalidationRecord.Missing);
                break;
            case LogEventKind.Statistics:
                AddStatistics(e, seconds);
                break;
            case LogEventKind.Violation:
                Increment(_violations, e.Text("Kind"u8) ?? InvalidationRecord.Missing);
                Run(e).ViolationEvents++;
                break;
            case LogEventKind.RunSummary:
                AddSummary(e);
                break;
            case LogEventKind.HostActivity:
                Increment(_hostActivities, $"{e.Text("Kind"u8) ?? InvalidationRecord.Missing}/{e.Text("Outcome"u8) ?? InvalidationRecord.Missing}");
                if (e.OptionalDouble("ElapsedSeconds"u8) is { } elapsed)
                {
                    Run(e).ObserveElapsed(elapsed);
                }

                break;
            default:
                // Daemon and pipeline events: counted by name above, no statistics.
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddInvalidation(in LogEvent e, double seconds)
    {
        var run = Run(e);
        var r = InvalidationRecord.From(e);
        if (r.Profile == InvalidationRecord.Missing && run.Profile is { } runProfile)
        {
            r = r with { Profile = runProfile };
        }

        _all.Add(r);
        Group(_byProfile, r.Profile).Add(r);
        Group(_byEvent, r.Event).Add(r);
        Group(_byNotifierEvent, r.NotifierEvent).Add(r);
        Group(_byGuest, r.Guest).Add(r);
        Group(_byScenario, run.Scenario ?? InvalidationRecord.Missing).Add(r);
        run.Invalidations.Add(r);
        if (r.ElapsedSeconds is { } elapsed)
        {
            run.ObserveElapsed(elapsed);
        }

        _timeline.AddInvalidation(seconds);
        _hotRanges.Add((r.Guest, r.StartHva & ~(HotRangeBytes - 1)));
    }

    private void AddStatistics(in LogEvent e, double seconds)
    {
        var snapshot = StatisticsSnapshot.From(e);
        Run(e).ObserveElapsed(snapshot.ElapsedSeconds);
        var (faults, retries, interval) = Track(e).InWindow(snapshot);

        // A run's clock starts a little before its first logged event: the first interval would reach into the second
        // before the log's origin and show an empty "-1 s" bucket. What happened before the origin is spread from it.
        var from = Math.Max(Math.Min(0, seconds), seconds - interval);
        _timeline.AddStatisticsDelta(from, seconds, faults, retries);
    }

    private void AddSummary(in LogEvent e)
    {
        var run = Run(e);
        var summary = e.Element("Summary"u8);
        run.HasSummary = true;
        run.Summary = SummaryCounts.From(summary, _filter.Guest);
        if (summary.ValueKind != System.Text.Json.JsonValueKind.Object)
        {
            return;
        }

        AddClients(summary);
        string? Text(string name) => summary.TryGetProperty(name, out var v) ? JsonValues.GetText(v) : null;
        run.Scenario ??= Text("Scenario");
        run.Profile ??= Text("NotifierProfile") is { } profile ? ProfileNames.Normalize(profile) : null;
        run.Seed ??= Text("Seed");
        run.Mutation ??= Text("Mutation");
        if (summary.TryGetProperty("DurationSeconds", out var duration) && JsonValues.TryGetDouble(duration, out var length))
        {
            run.EndedAfterSeconds ??= length;
        }
    }

    private RunState Run(in LogEvent e)
    {
        var runId = e.Text("RunId"u8) ?? InvalidationRecord.Missing;
        ref var run = ref CollectionsMarshal.GetValueRefOrAddDefault(_runs, runId, out var existed);
        if (!existed)
        {
            run = new RunState(runId);
            _runOrder.Add(run);
        }

        run!.Scenario ??= e.Text("Scenario"u8);
        return run;
    }

    /// <summary>
    /// The event's scenario: its own <c>Scenario</c> property, or (compact <c>Invalidation</c> events carry none) that of
    /// its run, learnt from the run's earlier events, filtered out or not.
    /// </summary>
    private string? ScenarioOf(in LogEvent e)
    {
        var runId = e.Text("RunId"u8);
        if (e.Text("Scenario"u8) is { } scenario)
        {
            if (runId is not null)
            {
                _runScenarios.TryAdd(runId, scenario);
            }

            return scenario;
        }

        return runId is not null && _runScenarios.TryGetValue(runId, out var known) ? known : null;
    }

    private StatisticsTrack Track(in LogEvent e)
    {
        var key = (e.Text("RunId"u8) ?? InvalidationRecord.Missing, e.Text("Guest"u8) ?? InvalidationRecord.Missing);
        ref var track = ref CollectionsMarshal.GetValueRefOrAddDefault(_statistics, key, out var existed);
        if (!existed)
        {
            track = new StatisticsTrack(key.Item1, key.Item2);
        }

        return track!;
    }

    private static T Group<T>(Dictionary<string, T> groups, string key)
        where T : class, new()
    {
        ref var group = ref CollectionsMarshal.GetValueRefOrAddDefault(groups, key, out var existed);
        if (!existed)
        {
            group = new T();
        }

        return group!;
    }

    private static void Increment(Dictionary<string, long> counts, string key) =>
        CollectionsMarshal.GetValueRefOrAddDefault(counts, key, out _)++;
}
