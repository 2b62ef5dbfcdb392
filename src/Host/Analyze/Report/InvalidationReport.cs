namespace Hypervisor.Host.Analyze.Report;

/// <summary>All invalidations that passed the filters: counts, sizes, zaps, durations.</summary>
internal sealed record InvalidationReport(
    long Total,
    long Pages,
    double PagesPerInvalidation,
    IReadOnlyList<HistogramBucket> PagesHistogram,
    long SptesZapped,
    double SptesZappedPerInvalidation,
    long NothingZapped,
    double NothingZappedShare,
    IReadOnlyList<HistogramBucket> SptesZappedHistogram,
    long SinglePage,
    double SinglePageShare,
    long TlbFlushed,
    DurationReport Duration,
    InProgressReport InProgress);
