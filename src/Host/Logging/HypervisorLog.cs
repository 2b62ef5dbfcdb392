using Microsoft.Extensions.Logging;

namespace Hypervisor.Host.Logging;

/// <summary>
/// One source-generated log method per <see cref="LogEventIds"/> entry. Templates name every property; the property
/// names are the contract of the JSON log (see <see cref="LogEventIds"/>). Nothing here formats a string itself.
/// </summary>
/// <remarks>
/// Each placeholder must match its parameter's name up to case: for methods of more than six parameters the generator
/// keys a property by the parameter's name when they differ (<c>@event</c>, or <c>retriesByReason</c> for
/// <c>{@RetriesByReason}</c>). Hence the parameter <c>Event</c>, and <c>{RetriesByReason}</c> without <c>@</c>: Serilog
/// captures a dictionary as a JSON object anyway. <c>{@Summary}</c> (three parameters) is destructured as written.
/// </remarks>
internal static partial class HypervisorLog
{
    /// <summary>The <c>Invalidation</c> event's template, shared with <see cref="InvalidationLogWriter"/>.</summary>
    public const string InvalidationTemplate = "{RunId} {Guest} {Event} ({NotifierEvent}) {StartHva} {Pages} pages: {SptesZapped} zapped, "
        + "{VcpusFlushed} vCPUs, TLB {TlbFlushed}, single {SinglePage}, {DurationMicros} us, at {ElapsedSeconds} s";

    /// <summary>A run-relative time as the log writes it: seconds, to the microsecond.</summary>
    public static double Seconds(TimeSpan elapsed) => Math.Round(elapsed.TotalSeconds, 6);

    [LoggerMessage(EventId = LogEventIds.ScenarioStarted, EventName = nameof(LogEventIds.ScenarioStarted), Level = LogLevel.Information,
        Message = "{Scenario} run {RunId} started: seed {Seed}, profile {Profile}, mutation {Mutation}, {Guests} guests, {Vcpus} vCPUs")]
    public static partial void ScenarioStarted(this ILogger logger, string scenario, string runId, ulong seed, string profile,
        string? mutation, int guests, int vcpus);

    [LoggerMessage(EventId = LogEventIds.ScenarioEnded, EventName = nameof(LogEventIds.ScenarioEnded), Level = LogLevel.Information,
        Message = "{Scenario} run {RunId} ended after {DurationSeconds} s: {Violations} violations, exit code {ExitCode}")]
    public static partial void ScenarioEnded(this ILogger logger, string scenario, string runId, double durationSeconds,
        long violations, int exitCode);

    [LoggerMessage(EventId = LogEventIds.Invalidation, EventName = nameof(LogEventIds.Invalidation), Level = LogLevel.Debug,
        Message = InvalidationTemplate)]
    public static partial void Invalidation(this ILogger logger, string runId, string guest, string Event, string notifierEvent,
        string startHva, ulong pages, int sptesZapped, int vcpusFlushed, bool tlbFlushed, double durationMicros, bool singlePage,
        double elapsedSeconds);

    [LoggerMessage(EventId = LogEventIds.RetryBurst, EventName = nameof(LogEventIds.RetryBurst), Level = LogLevel.Debug,
        Message = "{Scenario}/{RunId} {Guest} vCPU {Vcpu} retried {Retries} times in {Faults} faults within {WindowMs} ms")]
    public static partial void RetryBurst(this ILogger logger, string scenario, string runId, string guest, int vcpu,
        long retries, long faults, double windowMs);

    [LoggerMessage(EventId = LogEventIds.Statistics, EventName = nameof(LogEventIds.Statistics), Level = LogLevel.Debug,
        Message = "{Scenario}/{RunId} {Guest} at {ElapsedSeconds} s (final {Final}): {Accesses} accesses, {Faults} faults, "
            + "{FaultRetries} retries, {Invalidations} invalidations, {SptesZapped} SPTEs zapped, {TlbFlushes} TLB flushes "
            + "({TlbFlushWaitMicros} us waiting), {TlbHits} TLB hits, {MmioExits} MMIO exits, young {YoungTrue} of {YoungCalls}, "
            + "retries by reason {RetriesByReason}")]
    public static partial void Statistics(this ILogger logger, string scenario, string runId, string guest, double elapsedSeconds,
        bool final, long accesses, long faults, long faultRetries, long invalidations, long sptesZapped, long tlbFlushes,
        double tlbFlushWaitMicros, long tlbHits, long mmioExits, long youngCalls, long youngTrue,
        IReadOnlyDictionary<string, long> retriesByReason);

    [LoggerMessage(EventId = LogEventIds.Violation, EventName = nameof(LogEventIds.Violation), Level = LogLevel.Error,
        Message = "{Scenario}/{RunId} violation {Kind} in {Guest} vCPU {Vcpu} at address {Address} pfn {Pfn} ({AtSeconds} s): {Detail}")]
    public static partial void Violation(this ILogger logger, string scenario, string runId, string kind, string guest, int vcpu,
        ulong address, int pfn, double atSeconds, string detail);

    [LoggerMessage(EventId = LogEventIds.RunSummary, EventName = nameof(LogEventIds.RunSummary), Level = LogLevel.Information,
        Message = "{Scenario}/{RunId} summary {@Summary}")]
    public static partial void RunSummary(this ILogger logger, string scenario, string runId, GuestModel.Summary.RunSummary summary);

    [LoggerMessage(EventId = LogEventIds.HostActivity, EventName = nameof(LogEventIds.HostActivity), Level = LogLevel.Debug,
        Message = "{Scenario}/{RunId} host {Kind} on {Guest}: {Outcome} at {ElapsedSeconds} s")]
    public static partial void HostActivity(this ILogger logger, string scenario, string runId, string kind, string? guest,
        string outcome, double elapsedSeconds);

    [LoggerMessage(EventId = LogEventIds.ScenarioInvalid, EventName = nameof(LogEventIds.ScenarioInvalid), Level = LogLevel.Error,
        Message = "Scenario file {File} skipped: {Error}")]
    public static partial void ScenarioInvalid(this ILogger logger, string file, string error);

    [LoggerMessage(EventId = LogEventIds.DaemonStarted, EventName = nameof(LogEventIds.DaemonStarted), Level = LogLevel.Information,
        Message = "Daemon started: {ScenarioCount} scenarios ({Scenarios}), logs in {LogDirectory}")]
    public static partial void DaemonStarted(this ILogger logger, int scenarioCount, string scenarios, string logDirectory);

    [LoggerMessage(EventId = LogEventIds.DaemonStopping, EventName = nameof(LogEventIds.DaemonStopping), Level = LogLevel.Information,
        Message = "Daemon stopping: {Reason}")]
    public static partial void DaemonStopping(this ILogger logger, string reason);

    [LoggerMessage(EventId = LogEventIds.ScenarioRestarting, EventName = nameof(LogEventIds.ScenarioRestarting), Level = LogLevel.Information,
        Message = "{Scenario} restarting after run {RunId}: {Reason}")]
    public static partial void ScenarioRestarting(this ILogger logger, string scenario, string runId, string reason);

    [LoggerMessage(EventId = LogEventIds.PipelineStatistics, EventName = nameof(LogEventIds.PipelineStatistics), Level = LogLevel.Information,
        Message = "Pipeline: {Events} events ({EventsPerSecond} per second), {Invalidations} invalidations, queue depth up to "
            + "{QueueDepth}, producers blocked {BlockedMicros} us")]
    public static partial void PipelineStatistics(this ILogger logger, long events, double eventsPerSecond, long invalidations,
        int queueDepth, double blockedMicros);

    [LoggerMessage(EventId = LogEventIds.UnhandledError, EventName = nameof(LogEventIds.UnhandledError), Level = LogLevel.Critical,
        Message = "Unhandled error in {Component} ({Scenario}/{RunId}): {Error}")]
    public static partial void UnhandledError(this ILogger logger, Exception exception, string component, string? scenario,
        string? runId, string error);
}
