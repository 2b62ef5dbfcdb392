namespace Hypervisor.Host.Logging;

/// <summary>
/// The catalogue of log event ids. The ids, the names (<c>EventId.Name</c>, the constant's name) and the property names
/// of each event's template are a contract: <c>hypervisor analyze</c> and other log readers depend on them, so an id is
/// never reused or renumbered; a new event takes the next free id. One <see cref="HypervisorLog"/> method per id.
/// </summary>
internal static class LogEventIds
{
    /// <summary>Scenario, RunId, Seed, Profile, Mutation, Guests, Vcpus.</summary>
    public const int ScenarioStarted = 1;

    /// <summary>Scenario, RunId, DurationSeconds, Violations, ExitCode.</summary>
    public const int ScenarioEnded = 2;

    /// <summary>RunId, Guest, Event, NotifierEvent, StartHva, Pages, SptesZapped, VcpusFlushed, TlbFlushed, DurationMicros,
    /// SinglePage, ElapsedSeconds. The most frequent event, so it carries no per-run constant: the run's scenario and
    /// profile are on its <see cref="ScenarioStarted"/> (and <see cref="Statistics"/>), and the range ends at
    /// StartHva + Pages × 4 KiB. (Logs written before the compact format also carry Scenario, Profile and EndHva.)</summary>
    public const int Invalidation = 3;

    /// <summary>Scenario, RunId, Guest, Vcpu, Retries, Faults, WindowMs.</summary>
    public const int RetryBurst = 4;

    /// <summary>Scenario, RunId, Guest, ElapsedSeconds, Final, Accesses, Faults, FaultRetries, Invalidations, SptesZapped,
    /// TlbFlushes, TlbFlushWaitMicros, TlbHits, MmioExits, YoungCalls, YoungTrue, RetriesByReason.</summary>
    public const int Statistics = 5;

    /// <summary>Scenario, RunId, Kind, Guest, Vcpu, Address, Pfn, AtSeconds, Detail.</summary>
    public const int Violation = 6;

    /// <summary>Scenario, RunId, Summary (the run summary, destructured).</summary>
    public const int RunSummary = 7;

    /// <summary>Scenario, RunId, Kind, Guest, Outcome, ElapsedSeconds.</summary>
    public const int HostActivity = 8;

    /// <summary>File, Error: one event per problem of a scenario file the daemon skips.</summary>
    public const int ScenarioInvalid = 9;

    /// <summary>ScenarioCount, Scenarios, LogDirectory.</summary>
    public const int DaemonStarted = 10;

    /// <summary>Reason.</summary>
    public const int DaemonStopping = 11;

    /// <summary>Scenario, RunId (of the run that ended), Reason.</summary>
    public const int ScenarioRestarting = 12;

    /// <summary>Events, EventsPerSecond, Invalidations, QueueDepth, BlockedMicros.</summary>
    public const int PipelineStatistics = 13;

    /// <summary>Component, Scenario, RunId, Error (and the exception).</summary>
    public const int UnhandledError = 14;
}
