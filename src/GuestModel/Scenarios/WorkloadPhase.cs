namespace Hypervisor.GuestModel.Scenarios;

/// <summary>One phase of a <see cref="AccessPattern.Phased"/> workload: a plain workload for a number of accesses.</summary>
public sealed record WorkloadPhase
{
    /// <summary>The workload during the phase; never itself phased.</summary>
    public required WorkloadSpec Workload { get; init; }

    /// <summary>How many accesses (per vCPU) the phase lasts before the next one starts; at least 1.</summary>
    public required long Accesses { get; init; }
}
