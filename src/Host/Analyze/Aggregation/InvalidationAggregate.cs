namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>Everything kept about a set of invalidations: sums, size histograms and the duration sketch.</summary>
internal sealed class InvalidationAggregate
{
    public GroupCounter Sums { get; } = new();

    public PowerOfTwoHistogram Pages { get; } = new();

    public PowerOfTwoHistogram SptesZapped { get; } = new();

    public LogLinearHistogram DurationMicros { get; } = new();

    public void Add(in InvalidationRecord r)
    {
        Sums.Add(r);
        Pages.Add(r.Pages);
        SptesZapped.Add(r.SptesZapped);
        DurationMicros.Add(r.DurationMicros);
    }
}
