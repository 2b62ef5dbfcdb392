namespace Hypervisor.Host.Analyze.Report;

/// <summary>
/// What <c>hypervisor analyze</c> reports: invalidation statistics recomputed from JSON-lines logs alone. Serialized
/// as-is (camelCase) by <c>--format json</c>; every other format renders it.
/// </summary>
internal sealed record AnalysisReport
{
    public required InputReport Input { get; init; }

    public required InvalidationReport Invalidations { get; init; }

    public required IReadOnlyList<GroupRow> ByEvent { get; init; }

    public required IReadOnlyList<GroupRow> ByNotifierEvent { get; init; }

    public required IReadOnlyList<GroupRow> ByGuest { get; init; }

    public required IReadOnlyList<GroupRow> ByScenario { get; init; }

    public required IReadOnlyList<GroupRow> ByProfile { get; init; }

    /// <summary>Secondary MMUs other than KVM, by client name, from the run summaries (empty when no run declared one).</summary>
    public IReadOnlyList<ClientRow> ByClient { get; init; } = [];

    /// <summary>The same by client kind (<c>hmm-mirror</c>, <c>gru-tlb</c>, <c>xpmem-export</c>).</summary>
    public IReadOnlyList<ClientRow> ByClientKind { get; init; } = [];

    public required FaultReport Faults { get; init; }

    public required TlbReport Tlb { get; init; }

    public required AgingReport Aging { get; init; }

    /// <summary>Retry-burst events, by guest.</summary>
    public required CountReport RetryBursts { get; init; }

    public required CountReport Violations { get; init; }

    /// <summary>Host activities by <c>kind/outcome</c>.</summary>
    public required CountReport HostActivities { get; init; }

    public required TimelineReport Timeline { get; init; }

    public required HotRangeReport HotRanges { get; init; }

    /// <summary>Side by side when the logs hold more than one notifier profile; null otherwise.</summary>
    public IReadOnlyList<ProfileComparisonRow>? ProfileComparison { get; init; }

    public required IReadOnlyList<RunReport> Runs { get; init; }

    public required ConsistencyReport Consistency { get; init; }
}
