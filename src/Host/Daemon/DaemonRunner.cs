using Hypervisor.Host.Cli;
using Hypervisor.Host.Configuration;
using Hypervisor.Host.Logging;
using Hypervisor.Host.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serilog.Extensions.Logging;

namespace Hypervisor.Host.Daemon;

/// <summary>
/// Composes and runs the daemon on the generic host: settings (file, <c>HYPERVISOR__</c> variables, command line),
/// validated before anything starts; the Serilog logger; the scenarios; the pipeline and <see cref="DaemonService"/>.
/// The console lifetime turns SIGTERM and Ctrl+C into a graceful stop. Returns the process exit code.
/// </summary>
internal static class DaemonRunner
{
    private const string StoppedBeforeServing = "stop requested before any scenario started";

    /// <summary>Runs the daemon to its stop; returns the exit code (0, 1 violations, 3 failure; bad input throws).</summary>
    public static int Run(string? configFile, SettingsOverrides overrides, EarlyStopSignals? early = null)
    {
        using var owned = early is null ? new EarlyStopSignals() : null;
        var signals = early ?? owned!;
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ApplicationName = "hypervisor",
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        HypervisorConfiguration.AddSources(builder.Configuration, configFile, overrides);
        var daemon = SettingsBinder.Bind(builder.Configuration, DaemonOptions.Section, new DaemonOptionsValidator());
        var logging = SettingsBinder.Bind(builder.Configuration, LoggingOptions.Section, new LoggingOptionsValidator());
        MetricsExport.Add(builder.Services, MetricsExport.Bind(builder.Configuration));

        if (!string.IsNullOrEmpty(daemon.SummaryDirectory))
        {
            CreateSummaryDirectory(daemon.SummaryDirectory);
        }

        var outcome = new DaemonOutcome();

        // Full-disk policy: a log write that fails stops the runners at once and the daemon exits 3 (see the README).
        using var monitor = new LogWriteMonitor(reason =>
        {
            Console.Error.WriteLine($"hypervisor: the log in '{Path.GetFullPath(logging.LogDirectory)}' cannot be written ({reason}); " +
                "stopping the runners, later events reach the console only");
            outcome.RecordFailure(new IOException(reason));
            signals.RequestStop();
        }, Console.Error);
        var serilog = SerilogFactory.Create(logging, logging.ConsoleLevel, writeFile: true);
        ServeAndCloseLog();

        // After the log is closed: a write that failed only in its final flush counts too.
        return outcome.ExitCode;

        void ServeAndCloseLog()
        {
            try
            {
                using var loggerFactory = new SerilogLoggerFactory(serilog, dispose: false);
                var logger = loggerFactory.CreateLogger("Hypervisor.Daemon");
                var scenarios = DaemonScenarios.Load(daemon, logger);
                Compose(builder, serilog, scenarios, daemon, outcome);
                using var host = builder.Build();

                // Resolved now: Run disposes the host (and its services) when it returns.
                var service = host.Services.GetServices<IHostedService>().OfType<DaemonService>().Single();
                if (signals.Requested)
                {
                    logger.DaemonStopping(StoppedBeforeServing);
                    return;
                }

                signals.HandOver(host.Services.GetRequiredService<IHostApplicationLifetime>());
                try
                {
                    host.Run();
                }
                catch (OperationCanceledException) when (signals.Requested && service.ExecuteTask is null)
                {
                    // The stop came between the check above and the start: the host refused to start, nothing ran.
                    logger.DaemonStopping(StoppedBeforeServing);
                }
                catch (OptionsValidationException e)
                {
                    throw new BadInputException(string.Join(Environment.NewLine, e.Failures), e);
                }
                catch (Exception e) when (e is not OutOfMemoryException and not BadInputException)
                {
                    Fail(outcome, logger, e);
                }

                if (service.ExecuteTask is { IsCompleted: false })
                {
                    // The host gave up waiting: runners or the consumer are stuck, and the log may lack their last events.
                    Fail(outcome, logger, new TimeoutException(
                        $"the daemon did not stop within {DaemonOptions.Section}:{nameof(DaemonOptions.ShutdownTimeout)} ({daemon.ShutdownTimeout})"));
                }
            }
            finally
            {
                // Drains the async file sink and flushes the file: after this the log is complete, or the failure is known.
                try
                {
                    serilog.Dispose();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    monitor.Report(e);
                }
            }
        }
    }

    private static void Compose(HostApplicationBuilder builder, Serilog.Core.Logger serilog,
        IReadOnlyList<GuestModel.Scenarios.Scenario> scenarios, DaemonOptions daemon, DaemonOutcome outcome)
    {
        // Serilog.Extensions.Hosting: Serilog is the host's ILoggerFactory (its sinks and levels decide) and is registered as
        // Serilog.ILogger; the verb disposes it after the host.
        Serilog.SerilogServiceCollectionExtensions.AddSerilog(builder.Services, serilog, dispose: false);

        var services = builder.Services;
        services.AddOptions<DaemonOptions>().Bind(builder.Configuration.GetSection(DaemonOptions.Section)).ValidateOnStart();
        services.AddOptions<LoggingOptions>().Bind(builder.Configuration.GetSection(LoggingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DaemonOptions>, DaemonOptionsValidator>();
        services.AddSingleton<IValidateOptions<LoggingOptions>, LoggingOptionsValidator>();
        services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = daemon.ShutdownTimeout;
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        services.AddSingleton(scenarios);
        services.AddSingleton(outcome);
        services.AddSingleton<LiveTotals>();
        services.AddSingleton<HypervisorMetrics>();
        services.AddSingleton(sp =>
        {
            var lifetime = sp.GetRequiredService<IHostApplicationLifetime>();

            // The meter lives as long as the container; creating it with the pipeline publishes it for the whole run.
            _ = sp.GetRequiredService<HypervisorMetrics>();
            var summaries = daemon.SummaryDirectory;
            return new EventPipeline(
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("Hypervisor.Pipeline"),
                sp.GetRequiredService<LiveTotals>(),
                daemon.StatsInterval,
                daemon.ChannelCapacity,
                onSummary: (runId, summary) =>
                {
                    outcome.RecordRun(summary.ExitCode);
                    if (!string.IsNullOrEmpty(summaries))
                    {
                        SummaryJson.WriteFile($"{DaemonOptions.Section}:{nameof(DaemonOptions.SummaryDirectory)}",
                            Path.Combine(summaries, $"{summary.Scenario}-{runId}.json"), summary, inputs: []);
                    }
                },
                onFailure: e =>
                {
                    outcome.RecordFailure(e);
                    lifetime.StopApplication();
                },
                serilog: sp.GetRequiredService<Serilog.ILogger>());
        });
        services.AddHostedService<DaemonService>();
    }

    private static void Fail(DaemonOutcome outcome, ILogger logger, Exception error)
    {
        outcome.RecordFailure(error);
        var message = $"{error.GetType().Name}: {error.Message}";
        logger.UnhandledError(error, "host", null, null, message);
    }

    private static void CreateSummaryDirectory(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new BadInputException($"{DaemonOptions.Section}:{nameof(DaemonOptions.SummaryDirectory)}: expected a directory that can be created, got '{directory}' ({e.Message})", e);
        }
    }
}
