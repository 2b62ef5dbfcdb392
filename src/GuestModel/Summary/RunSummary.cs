namespace Hypervisor.GuestModel.Summary;

/// <summary>Everything a run reports at its end; serialized as the summary JSON and the summary log event.</summary>
public sealed record RunSummary
{
    public required string Scenario { get; init; }
    public ulong Seed { get; init; }
    public double DurationSeconds { get; init; }

    /// <summary>
    /// Guest execution time: from the start gate's opening to the last vCPU leaving its access loop, without the
    /// set-up before (building guests, starting threads) and the checks and teardown after.
    /// </summary>
    public double ExecutionSeconds { get; init; }
    public required string NotifierProfile { get; init; }
    public string? Mutation { get; init; }
    public required ViolationSummary Violations { get; init; }
    public required Totals Totals { get; init; }
    public required IReadOnlyList<GuestSummary> Guests { get; init; }
    public required IReadOnlyDictionary<string, long> Host { get; init; }
    public IReadOnlyList<Clients.ClientSummary> Clients { get; init; } = [];

    /// <summary>One entry per activity of the scenario, in file order: how often it fired and how long its firings took.</summary>
    public IReadOnlyList<ActivitySummary> Activities { get; init; } = [];
    public long EventsPublished { get; init; }

    /// <summary>Set for a deterministic run: how it was scheduled and its trace hash.</summary>
    public ScheduleSummary? Schedule { get; init; }

    /// <summary>Process exit code for this result: 0 clean, 1 violations found.</summary>
    public int ExitCode => Violations.Total == 0 ? 0 : 1;
}

/// <summary>Violations by kind, with the first occurrence of each.</summary>
public sealed record ViolationSummary
{
    public long Total { get; init; }
    public IReadOnlyDictionary<string, long> ByKind { get; init; } = new Dictionary<string, long>();
    public IReadOnlyList<ViolationDetail> First { get; init; } = [];
}

/// <summary>The first occurrence of a violation kind.</summary>
public sealed record ViolationDetail(string Kind, string Guest, int Vcpu, ulong Address, int Pfn, double AtSeconds, string Detail);

/// <summary>Counters summed over every guest.</summary>
public sealed record Totals
{
    public long Accesses { get; init; }
    public long Faults { get; init; }
    public long FaultRetries { get; init; }
    public long Invalidations { get; init; }
    public long SptesZapped { get; init; }
    public long TlbFlushes { get; init; }
    public long TlbHits { get; init; }
    public long MmioExits { get; init; }
    public long HostFaultExits { get; init; }
    public double AccessesPerSecond { get; init; }
    public double FaultsPerSecond { get; init; }
}
