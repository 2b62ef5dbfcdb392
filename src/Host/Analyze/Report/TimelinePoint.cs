namespace Hypervisor.Host.Analyze.Report;

/// <summary>
/// One bucket of the timeline, starting <paramref name="StartSeconds"/> after the origin. Retries and faults are the
/// increases between successive statistics events of each run and guest, spread evenly over the run time between them.
/// </summary>
internal sealed record TimelinePoint(long StartSeconds, long Invalidations, double InvalidationsPerSecond,
    long FaultRetries, double RetriesPerSecond, long Faults, double RetriesPerFault);
