namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>
/// The statistics events of one (RunId, Guest): the last one before the time window (the baseline), the one that
/// counts inside it (the last, but a <c>Final</c> one is never replaced), and the previous one for per-interval deltas.
/// </summary>
internal sealed class StatisticsTrack(string runId, string guest)
{
    public string RunId { get; } = runId;

    public string Guest { get; } = guest;

    public StatisticsSnapshot Baseline { get; private set; } = StatisticsSnapshot.Zero;

    public StatisticsSnapshot? Counted { get; private set; }

    private StatisticsSnapshot _previous = StatisticsSnapshot.Zero;

    /// <summary>A snapshot before the window: only moves the baseline.</summary>
    public void BeforeWindow(StatisticsSnapshot snapshot)
    {
        Baseline = snapshot;
        _previous = snapshot;
    }

    /// <summary>
    /// A snapshot inside the window; returns the faults and retries counted since the previous snapshot, and the run
    /// time between the two (from their <c>ElapsedSeconds</c>; 0 when unknown).
    /// </summary>
    public (long Faults, long Retries, double IntervalSeconds) InWindow(StatisticsSnapshot snapshot)
    {
        if (Counted is { Final: true } && !snapshot.Final)
        {
            // A periodic snapshot taken before the final one but logged after it: the final one has the last word.
            return (0, 0, 0);
        }

        Counted = snapshot;

        // Counters only grow; a snapshot that went backwards is stale and adds nothing to the timeline.
        var faults = Math.Max(0, snapshot.Faults - _previous.Faults);
        var retries = Math.Max(0, snapshot.FaultRetries - _previous.FaultRetries);
        var interval = Math.Max(0, snapshot.ElapsedSeconds - _previous.ElapsedSeconds);
        if (snapshot.Faults >= _previous.Faults && snapshot.FaultRetries >= _previous.FaultRetries)
        {
            _previous = snapshot;
        }

        return (faults, retries, interval);
    }

    /// <summary>What the window saw: the counted snapshot minus the baseline (nothing when no snapshot fell inside).</summary>
    public StatisticsSnapshot? Windowed => Counted?.Minus(Baseline);
}
