namespace Hypervisor.Host.Analyze.Report;

/// <summary>Rates over time: buckets of <paramref name="BucketSeconds"/> seconds from <paramref name="Origin"/> (the first event's timestamp).</summary>
internal sealed record TimelineReport(DateTimeOffset? Origin, long BucketSeconds, IReadOnlyList<TimelinePoint> Points)
{
    /// <summary>The same series in at most <paramref name="maxPoints"/> wider buckets (for tables meant for people).</summary>
    public TimelineReport Coarsen(int maxPoints)
    {
        if (Points.Count <= maxPoints)
        {
            return this;
        }

        var factor = (Points.Count + maxPoints - 1) / maxPoints;
        var width = BucketSeconds * factor;
        var points = Points
            .GroupBy(p => (long)Math.Floor((double)(p.StartSeconds - Points[0].StartSeconds) / width))
            .Select(g =>
            {
                long invalidations = g.Sum(p => p.Invalidations), retries = g.Sum(p => p.FaultRetries), faults = g.Sum(p => p.Faults);
                return new TimelinePoint(Points[0].StartSeconds + (g.Key * width), invalidations, Ratio.Of(invalidations, width),
                    retries, Ratio.Of(retries, width), faults, Ratio.Of(retries, faults));
            })
            .ToList();
        return this with { BucketSeconds = width, Points = points };
    }
}
