using Hypervisor.GuestModel;
using Hypervisor.GuestModel.Events;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.Host.Pipeline;
using Microsoft.Extensions.Hosting;

namespace Hypervisor.Host.Daemon;

/// <summary>
/// Runs one scenario again and again under its <see cref="RestartPolicy"/> on the calling (dedicated) thread until
/// the stop token fires. A run that throws is a simulator bug: it is reported through the pipeline, recorded in the
/// <see cref="DaemonOutcome"/> (the process will exit non-zero), and either restarted (<c>always</c>,
/// <c>on-failure</c>) or, under <c>never</c>, stops the daemon.
/// </summary>
internal sealed class ScenarioSupervisor(EventSink sink, TimeSpan restartDelay, DaemonOutcome outcome, IHostApplicationLifetime lifetime)
{
    /// <summary>Runs <paramref name="scenario"/> until <paramref name="stop"/> fires or its policy says no more.</summary>
    public void Serve(Scenario scenario, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            string? failure;
            try
            {
                var summary = new ScenarioRunner().Run(scenario, new RunOptions { Events = sink }, stop);
                outcome.RecordRun(summary.ExitCode);
                failure = summary.ExitCode == 0 ? null : $"{summary.Violations.Total} violations";
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                outcome.RecordFailure(e);
                sink.Publish(new RunFailedEvent(scenario.Name, TimeSpan.Zero, e));
                failure = $"{e.GetType().Name}: {e.Message}";
                if (scenario.Restart == RestartPolicy.Never)
                {
                    lifetime.StopApplication();
                    return;
                }
            }

            if (stop.IsCancellationRequested || !ShouldRestart(scenario.Restart, failure is not null))
            {
                return;
            }

            sink.Publish(new RunRestartingEvent(scenario.Name, TimeSpan.Zero,
                failure is null ? "restart: always" : $"restart: {Names.Kebab(scenario.Restart.ToString())} after {failure}"));

            // Named wait: the restart delay, cut short by a stop.
            if (stop.WaitHandle.WaitOne(restartDelay))
            {
                return;
            }
        }
    }

    /// <summary>Whether a run that ended (<paramref name="failed"/>: violations or an exception) starts again.</summary>
    public static bool ShouldRestart(RestartPolicy policy, bool failed) => policy switch
    {
        RestartPolicy.Always => true,
        RestartPolicy.OnFailure => failed,
        _ => false,
    };
}
