namespace Hypervisor.Host.Analyze.Report;

/// <summary>Invalidation durations in microseconds; percentiles within 1 % (a log-linear sketch), min/max/mean exact.</summary>
internal sealed record DurationReport(long Count, double TotalMicros, double MeanMicros, double MinMicros,
    double P50Micros, double P90Micros, double P99Micros, double MaxMicros);
