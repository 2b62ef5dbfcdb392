using Hypervisor.HostMemory.Diagnostics;
using Hypervisor.ShadowMmu.Invalidation;
using Hypervisor.GuestModel.Summary;

namespace Hypervisor.GuestModel.Events;

/// <summary>
/// Something a running simulation reports to the world outside the hot path, through a bounded channel. The
/// consumer (the CLI or the daemon) turns these into log events.
/// </summary>
/// <param name="Scenario">The scenario that produced it.</param>
/// <param name="Elapsed">Time since the scenario started.</param>
public abstract record SimulationEvent(string Scenario, TimeSpan Elapsed);

/// <summary>The scenario started.</summary>
public sealed record ScenarioStartedEvent(string Scenario, TimeSpan Elapsed, ulong Seed, string Profile, string? Mutation, int Guests, int Vcpus)
    : SimulationEvent(Scenario, Elapsed);

/// <summary>One invalidation handled by a guest's shadow MMU.</summary>
public sealed record InvalidationEvent(string Scenario, TimeSpan Elapsed, string Profile, InvalidationRecord Record)
    : SimulationEvent(Scenario, Elapsed);

/// <summary>A vCPU retried many faults within one statistics interval.</summary>
public sealed record RetryBurstEvent(string Scenario, TimeSpan Elapsed, string Guest, int Vcpu, long Retries, long Faults, TimeSpan Window)
    : SimulationEvent(Scenario, Elapsed);

/// <summary>Periodic statistics of one guest (cumulative counters); <paramref name="Final"/> marks the end-of-run ones.</summary>
public sealed record StatsEvent(string Scenario, TimeSpan Elapsed, GuestSummary Guest, bool Final = false)
    : SimulationEvent(Scenario, Elapsed);

/// <summary>A violation detected by the oracle or a protocol check.</summary>
public sealed record ViolationEvent(string Scenario, TimeSpan Elapsed, ViolationRecord Violation)
    : SimulationEvent(Scenario, Elapsed);

/// <summary>A host activity fired.</summary>
public sealed record HostActivityEvent(string Scenario, TimeSpan Elapsed, string Kind, string? Guest, string Outcome)
    : SimulationEvent(Scenario, Elapsed);

/// <summary>The scenario ended; carries the summary.</summary>
public sealed record ScenarioEndedEvent(string Scenario, TimeSpan Elapsed, RunSummary Summary)
    : SimulationEvent(Scenario, Elapsed);
