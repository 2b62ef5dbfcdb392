using System.Security.Cryptography;
using Hypervisor.GuestModel.Events;
using Hypervisor.GuestModel.Summary;
using Hypervisor.Host.Logging;
using Microsoft.Extensions.Logging;

namespace Hypervisor.Host.Pipeline;

/// <summary>
/// Turns each <see cref="SimulationEvent"/> into its log event (<see cref="HypervisorLog"/>) and keeps the run ids:
/// a <see cref="ScenarioStartedEvent"/> opens a run with a fresh 8-hex-digit id, every later event of that scenario
/// carries it, its <see cref="ScenarioEndedEvent"/> closes it (a scenario never runs twice at once). Owned by the
/// consumer thread: nothing here is shared.
/// </summary>
/// <remarks>
/// With <paramref name="invalidations"/>, invalidations are written through it (straight into Serilog, same event);
/// without, through <see cref="HypervisorLog.Invalidation"/> like every other event.
/// </remarks>
internal sealed class EventTranslator(ILogger logger, LiveTotals totals, Action<string, RunSummary>? onSummary = null,
    InvalidationLogWriter? invalidations = null)
{
    private readonly Dictionary<string, string> _current = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _previous = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>Logs <paramref name="e"/> as its catalogue event; consumer thread only.</summary>
    public void Handle(SimulationEvent e)
    {
        switch (e)
        {
            case InvalidationEvent i:
                var r = i.Record;
                totals.AddInvalidation();
                var invalidationRun = RunOf(i.Scenario);
                if (invalidations is not null)
                {
                    if (invalidations.IsEnabled)
                    {
                        invalidations.Write(invalidationRun, i);
                    }
                }
                else if (logger.IsEnabled(LogLevel.Debug))
                {
                    // The one hot event: its strings are made only when a sink takes Debug.
                    logger.Invalidation(invalidationRun, r.Guest, LogNames.Of(r.Cause), LogNames.Of(r.Event), LogNames.Hex(r.Start.Value),
                        r.Pages, r.SptesZapped, r.VcpusFlushed, r.TlbFlushed, r.Duration.TotalMicroseconds, r.SinglePage,
                        HypervisorLog.Seconds(i.Elapsed));
                }

                break;
            case StatsEvent s:
                var g = s.Guest;
                var statsRun = RunOf(s.Scenario);
                totals.AddStatistics(statsRun, g);
                logger.Statistics(s.Scenario, statsRun, g.Name, s.Elapsed.TotalSeconds, s.Final, g.Accesses, g.Faults, g.FaultRetries,
                    g.Invalidations, g.SptesZapped, g.TlbFlushes, g.TlbFlushWaitMicros, g.TlbHits, g.MmioExits, g.YoungCalls,
                    g.YoungTrue, g.RetriesByReason);
                break;
            case HostActivityEvent h:
                var activityRun = RunOf(h.Scenario);
                logger.HostActivity(h.Scenario, activityRun, h.Kind, h.Guest, h.Outcome, h.Elapsed.TotalSeconds);
                break;
            case RetryBurstEvent b:
                var burstRun = RunOf(b.Scenario);
                logger.RetryBurst(b.Scenario, burstRun, b.Guest, b.Vcpu, b.Retries, b.Faults, b.Window.TotalMilliseconds);
                break;
            case ViolationEvent v:
                var x = v.Violation;
                totals.AddViolation();
                var violationRun = RunOf(v.Scenario);
                var atSeconds = Math.Round(x.Time.TotalSeconds, 6);
                logger.Violation(v.Scenario, violationRun, x.Kind.Name, x.Actor, x.Vcpu, x.Address, x.Pfn, atSeconds, x.Detail);
                break;
            case ScenarioStartedEvent started:
                var runId = Open(started.Scenario);
                logger.ScenarioStarted(started.Scenario, runId, started.Seed, started.Profile, started.Mutation, started.Guests, started.Vcpus);
                break;
            case ScenarioEndedEvent ended:
                var endedRun = RunOf(ended.Scenario);
                var summary = ended.Summary;
                logger.RunSummary(ended.Scenario, endedRun, summary);
                logger.ScenarioEnded(ended.Scenario, endedRun, summary.DurationSeconds, summary.Violations.Total, summary.ExitCode);
                Close(ended.Scenario, endedRun);
                onSummary?.Invoke(endedRun, summary);
                break;
            case RunRestartingEvent restart:
                var restartedRun = _previous.GetValueOrDefault(restart.Scenario, "-");
                logger.ScenarioRestarting(restart.Scenario, restartedRun, restart.Reason);
                break;
            case RunFailedEvent failed:
                var failedRun = _current.GetValueOrDefault(failed.Scenario) ?? _previous.GetValueOrDefault(failed.Scenario, "-");
                var error = $"{failed.Error.GetType().Name}: {failed.Error.Message}";
                logger.UnhandledError(failed.Error, "runner", failed.Scenario, failedRun, error);
                Close(failed.Scenario, failedRun);
                break;
            default:
                throw new InvalidOperationException($"no log event for {e.GetType().Name}");
        }
    }

    /// <summary>The open run of <paramref name="scenario"/>; opens one if its start was never seen (so nothing is logged without an id).</summary>
    private string RunOf(string scenario) => _current.TryGetValue(scenario, out var id) ? id : Open(scenario);

    private string Open(string scenario)
    {
        string id;
        do
        {
            id = RandomNumberGenerator.GetHexString(8, lowercase: true);
        }
        while (!_used.Add(id));

        _current[scenario] = id;
        return id;
    }

    private void Close(string scenario, string runId)
    {
        _current.Remove(scenario);
        _previous[scenario] = runId;
        totals.EndRun(runId);
    }
}
