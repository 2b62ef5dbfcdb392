namespace Hypervisor.Host.Tests.Analyze.Support;

/// <summary>The cumulative counters of one synthetic <c>Statistics</c> event (id 5); <c>FaultRetries</c> is the sum of the reasons.</summary>
internal sealed record Statistics
{
    public string Scenario { get; init; } = "quickstart";

    public string RunId { get; init; } = "run-1";

    public string Guest { get; init; } = "vm0";

    public bool Final { get; init; }

    public double? ElapsedSeconds { get; init; }

    public long Accesses { get; init; }

    public long Faults { get; init; }

    public long Invalidations { get; init; }

    public long SptesZapped { get; init; }

    public long TlbFlushes { get; init; }

    public double TlbFlushWaitMicros { get; init; }

    public long YoungCalls { get; init; }

    public long YoungTrue { get; init; }

    public IReadOnlyDictionary<string, long> RetriesByReason { get; init; } = new Dictionary<string, long>();

    /// <summary>Retries split over the four reasons of the contract.</summary>
    public static IReadOnlyDictionary<string, long> Reasons(long inProgress, long sequenceChanged, long installRaced = 0, long detached = 0) =>
        new Dictionary<string, long>
        {
            ["invalidation-in-progress"] = inProgress,
            ["sequence-changed"] = sequenceChanged,
            ["install-raced"] = installRaced,
            ["notifier-detached"] = detached,
        };
}
