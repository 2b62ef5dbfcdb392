namespace Hypervisor.Host.Analyze.Report;

/// <summary>
/// Time with an invalidation in progress: the sum of the invalidations' durations, and that sum per second of run
/// time. Invalidations of different guests overlap, so the fraction can exceed 1 with several guests.
/// </summary>
internal sealed record InProgressReport(double InvalidationSeconds, double RunSeconds, double FractionOfRunTime);
