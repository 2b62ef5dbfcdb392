namespace Hypervisor.Host.Analyze.Input;

/// <summary>The event catalogue of the log contract: each value is the event's <c>EventId.Id</c>.</summary>
internal enum LogEventKind
{
    /// <summary>Not in the catalogue.</summary>
    Unknown = 0,
    ScenarioStarted = 1,
    ScenarioEnded = 2,
    Invalidation = 3,
    RetryBurst = 4,
    Statistics = 5,
    Violation = 6,
    RunSummary = 7,
    HostActivity = 8,
    ScenarioInvalid = 9,
    DaemonStarted = 10,
    DaemonStopping = 11,
    ScenarioRestarting = 12,
    PipelineStatistics = 13,
    UnhandledError = 14,
}
