namespace Hypervisor.Host.Analyze.Report;

/// <summary>One run (RunId) found in the logs and how complete its record is.</summary>
internal sealed record RunReport(
    string RunId,
    string? Scenario,
    string? Profile,
    string? Seed,
    string? Mutation,
    int? Guests,
    double Seconds,
    bool Started,
    bool Ended,
    int? ExitCode,
    bool HasSummary,
    bool HasFinalStatistics,
    long Invalidations,
    long ViolationEvents);
