namespace Hypervisor.Host.Analyze.Report;

/// <summary>
/// The consistency check of one run with a <c>RunSummary</c>. <paramref name="Scope"/> is <c>all guests</c> (the
/// summary's totals) or the guest named by <c>--guest</c> (that guest's summary line).
/// </summary>
internal sealed record RunConsistency(string RunId, string? Scenario, string Scope, IReadOnlyList<ConsistencyField> Fields)
{
    public bool AllMatch => Fields.All(f => f.Match);
}
