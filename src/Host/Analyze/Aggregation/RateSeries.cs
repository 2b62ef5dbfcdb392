using Hypervisor.Host.Analyze.Report;

namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>
/// Per-bucket counts over time (invalidations, and the fault retries and faults derived from successive statistics
/// events, spread over the time between them), keyed by seconds from an origin. Buckets start one second wide; whenever more than
/// <see cref="MaxBuckets"/> would be needed the width doubles and neighbours merge, so a log of any length keeps a
/// bounded series. Times before the origin (files given out of order) extend the series backwards.
/// </summary>
internal sealed class RateSeries
{
    /// <summary>The most buckets kept; a day of log ends up in 128-second buckets.</summary>
    public const int MaxBuckets = 1024;

    private readonly List<TimelineCounts> _buckets = [];
    private long _firstIndex; // the bucket index of _buckets[0]

    /// <summary>The width of a bucket in seconds (a power of two).</summary>
    public long BucketSeconds { get; private set; } = 1;

    public void AddInvalidation(double seconds) => At(seconds).Invalidations++;

    /// <summary>
    /// Spreads the faults and retries counted between two statistics events evenly over the time between them
    /// (<paramref name="fromSeconds"/> to <paramref name="toSeconds"/>), so a statistics period longer than a bucket
    /// gives a steady rate rather than spikes. Cumulative rounding keeps the totals exact.
    /// </summary>
    public void AddStatisticsDelta(double fromSeconds, double toSeconds, long faults, long retries)
    {
        if (faults == 0 && retries == 0)
        {
            return;
        }

        if (!(toSeconds > fromSeconds))
        {
            var bucket = At(toSeconds);
            bucket.Faults += faults;
            bucket.FaultRetries += retries;
            return;
        }

        // Make both ends exist first: creating one may widen the buckets, which moves the other's index.
        At(fromSeconds);
        At(toSeconds);
        long first = Index(fromSeconds), last = Index(toSeconds), givenFaults = 0, givenRetries = 0;
        for (var index = first; index <= last; index++)
        {
            var covered = (Math.Min(toSeconds, (index + 1) * BucketSeconds) - fromSeconds) / (toSeconds - fromSeconds);
            var bucket = _buckets[(int)(index - _firstIndex)];
            var faultsSoFar = index == last ? faults : (long)Math.Round(faults * covered);
            var retriesSoFar = index == last ? retries : (long)Math.Round(retries * covered);
            bucket.Faults += faultsSoFar - givenFaults;
            bucket.FaultRetries += retriesSoFar - givenRetries;
            (givenFaults, givenRetries) = (faultsSoFar, retriesSoFar);
        }
    }

    /// <summary>The points, oldest first, with their start in seconds from the origin.</summary>
    public IReadOnlyList<TimelinePoint> ToPoints() =>
        [.. _buckets.Select((b, i) => new TimelinePoint(
            (_firstIndex + i) * BucketSeconds, b.Invalidations, Ratio.Of(b.Invalidations, BucketSeconds),
            b.FaultRetries, Ratio.Of(b.FaultRetries, BucketSeconds), b.Faults, Ratio.Of(b.FaultRetries, b.Faults)))];

    private long Index(double seconds) => (long)Math.Floor(seconds / BucketSeconds);

    private TimelineCounts At(double seconds)
    {
        var index = Index(seconds);
        if (_buckets.Count == 0)
        {
            _firstIndex = index;
            _buckets.Add(new TimelineCounts());
        }

        while (index - _firstIndex >= MaxBuckets || _firstIndex + _buckets.Count - 1 - index >= MaxBuckets)
        {
            Coarsen();
            index = Index(seconds);
        }

        while (index < _firstIndex)
        {
            _buckets.Insert(0, new TimelineCounts());
            _firstIndex--;
        }

        while (index >= _firstIndex + _buckets.Count)
        {
            _buckets.Add(new TimelineCounts());
        }

        return _buckets[(int)(index - _firstIndex)];
    }

    private void Coarsen()
    {
        var merged = new List<TimelineCounts>();
        var first = FloorHalf(_firstIndex);
        for (var i = 0; i < _buckets.Count; i++)
        {
            var target = (int)(FloorHalf(_firstIndex + i) - first);
            if (target == merged.Count)
            {
                merged.Add(new TimelineCounts());
            }

            merged[target].Add(_buckets[i]);
        }

        _buckets.Clear();
        _buckets.AddRange(merged);
        _firstIndex = first;
        BucketSeconds *= 2;
    }

    private static long FloorHalf(long index) => index >> 1; // arithmetic shift: floor for negatives too

    private sealed class TimelineCounts
    {
        public long Invalidations;
        public long Faults;
        public long FaultRetries;

        public void Add(TimelineCounts other)
        {
            Invalidations += other.Invalidations;
            Faults += other.Faults;
            FaultRetries += other.FaultRetries;
        }
    }
}
