namespace Hypervisor.Host.Analyze.Report;

/// <summary>One notifier profile's side of the modern-versus-legacy comparison.</summary>
internal sealed record ProfileComparisonRow(
    string Profile,
    int Runs,
    double RunSeconds,
    long Invalidations,
    double InvalidationsPerSecond,
    double PagesPerInvalidation,
    double SinglePageShare,
    double SptesZappedPerInvalidation,
    long Faults,
    long FaultRetries,
    double RetriesPerFault,
    double DurationP50Micros,
    double DurationP99Micros);
