using System.CommandLine;
using Hypervisor.Host.Configuration;

namespace Hypervisor.Host.Daemon;

/// <summary>
/// <c>hypervisor serve [--config FILE] [--log-dir DIR] [--Section:Key=value ...]</c>: runs the daemon until SIGTERM or
/// Ctrl+C. Exit code 0 clean, 1 if any run found violations, 2 bad input, 3 a failure inside the daemon.
/// </summary>
internal static class ServeVerb
{
    /// <summary>The verb; <paramref name="earlyStop"/> holds the stop signals <c>Main</c> registered first thing.</summary>
    public static Command Create(EarlyStopSignals? earlyStop = null)
    {
        var config = new Option<string?>("--config") { Description = $"Settings file (default {HypervisorConfiguration.DefaultFile})." };
        var logDir = new Option<string?>("--log-dir") { Description = "Directory of the JSON log files (overrides Logging:LogDirectory)." };
        var command = new Command("serve", "Run the daemon: serve the configured scenarios until SIGTERM or Ctrl+C, logging JSON lines. "
            + "Any setting can be overridden as --Section:Key=value (e.g. --Daemon:ScenarioDirectory=config/scenarios) "
            + $"or with an environment variable {HypervisorConfiguration.EnvironmentPrefix}Section__Key.")
        {
            config,
            logDir,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(parse =>
        {
            var overrides = new SettingsOverrides();
            overrides.AddTokens(parse.UnmatchedTokens);
            if (parse.GetValue(logDir) is { } directory)
            {
                overrides.Set($"{LoggingOptions.Section}:{nameof(LoggingOptions.LogDirectory)}", directory);
            }

            return DaemonRunner.Run(parse.GetValue(config), overrides, earlyStop);
        });
        return command;
    }
}
