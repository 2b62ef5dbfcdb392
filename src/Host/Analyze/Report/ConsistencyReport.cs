namespace Hypervisor.Host.Analyze.Report;

/// <summary>
/// Log-derived totals against each run's summary. <paramref name="Skipped"/> says why no check ran (a time window
/// cuts runs short), else null.
/// </summary>
internal sealed record ConsistencyReport(string? Skipped, IReadOnlyList<RunConsistency> Runs)
{
    public int Mismatches => Runs.Count(r => !r.AllMatch);
}
