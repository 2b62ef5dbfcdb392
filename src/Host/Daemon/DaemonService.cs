using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.Host.Configuration;
using Hypervisor.Host.Logging;
using Hypervisor.Host.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hypervisor.Host.Daemon;

/// <summary>
/// The daemon's work: starts the event pipeline, one runner thread per scenario (each restarting under its
/// scenario's policy), and on stop (SIGTERM, Ctrl+C, or every scenario finished) stops them in the one order that
/// loses nothing: cancel the runners, wait until each has returned (and published its summary), complete the
/// channel, wait until the consumer has drained it. The Serilog logger is disposed by the verb after the host.
/// </summary>
internal sealed class DaemonService(
    IReadOnlyList<Scenario> scenarios,
    EventPipeline pipeline,
    IOptions<DaemonOptions> options,
    IOptions<LoggingOptions> logging,
    DaemonOutcome outcome,
    IHostApplicationLifetime lifetime,
    ILogger<DaemonService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Leave the host's start path before doing anything long.
        await Task.Yield();
        try
        {
            await ServeAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            outcome.RecordFailure(e);
            var error = $"{e.GetType().Name}: {e.Message}";
            logger.UnhandledError(e, "daemon", null, null, error);
            throw;
        }
    }

    private async Task ServeAsync(CancellationToken stoppingToken)
    {
        var names = string.Join(", ", scenarios.Select(s => s.Name));
        var logDirectory = Path.GetFullPath(logging.Value.LogDirectory);
        logger.DaemonStarted(scenarios.Count, names, logDirectory);
        pipeline.Start();
        using var stopRunners = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var supervisor = new ScenarioSupervisor(pipeline.CreateSink(), options.Value.RestartDelay, outcome, lifetime);
        var loops = scenarios.Select(s => Task.Factory.StartNew(() => supervisor.Serve(s, stopRunners.Token),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        var all = Task.WhenAll(loops);
        string reason;
        try
        {
            await all.WaitAsync(stoppingToken).ConfigureAwait(false);
            reason = "every scenario finished and none restarts";
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            reason = "stop requested";
        }

        logger.DaemonStopping(reason);
        await stopRunners.CancelAsync().ConfigureAwait(false);

        // Named wait: each runner notices the cancellation within a batch, then publishes its final statistics and
        // summary; only after every one has returned may the channel be completed.
        await all.ConfigureAwait(false);
        pipeline.Complete();

        // Named wait: the consumer logs everything still queued (the summaries included) before it ends.
        await pipeline.Completion.ConfigureAwait(false);
        lifetime.StopApplication();
    }
}
