namespace Hypervisor.Host.Analyze.Aggregation;

/// <summary>The sums kept for every group of invalidations (one event kind, one guest, ...).</summary>
internal sealed class GroupCounter
{
    public long Count { get; private set; }

    public long Pages { get; private set; }

    public long SptesZapped { get; private set; }

    public long NothingZapped { get; private set; }

    public long SinglePage { get; private set; }

    public long TlbFlushed { get; private set; }

    public double DurationMicros { get; private set; }

    public void Add(in InvalidationRecord r)
    {
        Count++;
        Pages += r.Pages;
        SptesZapped += r.SptesZapped;
        NothingZapped += r.SptesZapped == 0 ? 1 : 0;
        SinglePage += r.SinglePage ? 1 : 0;
        TlbFlushed += r.TlbFlushed ? 1 : 0;
        DurationMicros += r.DurationMicros;
    }
}
