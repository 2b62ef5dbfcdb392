using System.CommandLine;
using Hypervisor.GuestModel;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Hypervisor.Host.Analyze.Output;
using Hypervisor.Host.Configuration;
using Hypervisor.Host.Logging;
using Hypervisor.Host.Pipeline;
using Hypervisor.HostMemory.Notifiers;
using Hypervisor.ShadowMmu.Vms;
using Microsoft.Extensions.Configuration;
using Serilog.Extensions.Logging;
using Spectre.Console;

namespace Hypervisor.Host.Cli;

/// <summary>
/// <c>hypervisor run [SCENARIO...]</c>: runs scenario files to completion, one after another, and prints their
/// summaries. Events go through the same pipeline and log format as the daemon; the JSON log file is written only
/// with <c>--log-dir</c> (the table is the human output, so there is no console log).
/// </summary>
internal static class RunVerb
{
    /// <summary>The verb; a stop signal <paramref name="earlyStop"/> caught before the run began stops it as Ctrl+C would.</summary>
    public static Command Create(Daemon.EarlyStopSignals? earlyStop = null)
    {
        var scenarios = new Argument<string[]>("scenario")
        {
            Description = $"Scenario files to run, one after another (default {RepositoryPaths.DefaultScenario}).",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var seed = new Option<ulong?>("--seed") { Description = "Override the scenario's seed." };
        var duration = new Option<string?>("--duration") { Description = "Override the scenario's duration (e.g. 5s, 500ms, 2m)." };
        var mutation = new Option<string?>("--mutation")
        {
            Description = "Run a deliberately broken protocol variant: " + string.Join(", ", MutationCatalog.Names) + ".",
        };
        var summary = new Option<string?>("--summary") { Description = "Write the summary JSON to this file." };
        var checkAfterOps = new Option<bool>("--check-after-ops")
        {
            Description = "After every munmap, madvise and mprotect, check that no SPTE or vCPU TLB entry still maps what the host no longer maps (else one in 16 is checked).",
        };
        var profile = new Option<string?>("--profile")
        {
            Description = "Override the notifier API profile: modern or legacy2008 (to compare both on one scenario).",
        };
        var mmu = new Option<string?>("--mmu")
        {
            Description = "Override every guest's MMU mode: tdp or shadow (to run any scenario in either mode).",
        };
        var logDir = new Option<string?>("--log-dir") { Description = "Write the JSON log (the daemon's format) into this directory." };
        var config = new Option<string?>("--config") { Description = $"Settings file for the log format options (default {HypervisorConfiguration.DefaultFile})." };
        var deterministic = new Option<bool>("--deterministic")
        {
            Description = "Run every thread under one controlled scheduler in virtual time: the same seed gives the same run (its trace hash is printed).",
        };
        var command = new Command("run", "Run scenarios and print their summaries.") { scenarios, seed, duration, mutation, profile, mmu, checkAfterOps, summary, logDir, config, deterministic };
        command.SetAction((parse, cancellation) =>
        {
            // A SIGTERM between Main's first line and the parser's own handler is kept by earlyStop: the run stops at once.
            using var stop = earlyStop is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellation, earlyStop.Stopping);
            return Task.FromResult(TryParseMmu(parse.GetValue(mmu), out var mode)
                ? Execute(
                    parse.GetValue(scenarios) ?? [],
                    new RunOptions
                    {
                        Seed = parse.GetValue(seed), Mutation = parse.GetValue(mutation), Mmu = mode,
                        Schedule = parse.GetValue(deterministic) ? new ScheduleSettings { UseScenarioSettings = true } : null,
                        CheckAfterOps = parse.GetValue(checkAfterOps),
                    },
                    parse.GetValue(duration), parse.GetValue(profile), parse.GetValue(summary), parse.GetValue(logDir), parse.GetValue(config),
                    stop?.Token ?? cancellation)
                : 2);
        });
        return command;
    }

    /// <summary>Reads <c>--mmu</c>; on a bad value prints the accepted ones and returns false (exit code 2).</summary>
    private static bool TryParseMmu(string? text, out MmuMode? mode)
    {
        mode = null;
        if (text is null)
        {
            return true;
        }

        var modes = Enum.GetValues<MmuMode>().ToDictionary(m => Names.Kebab(m.ToString()), m => m, StringComparer.Ordinal);
        if (modes.TryGetValue(text, out var chosen))
        {
            mode = chosen;
            return true;
        }

        Console.Error.WriteLine($"--mmu: expected one of {string.Join(", ", modes.Keys)}, got '{text}'");
        return false;
    }

    /// <summary>Runs the scenario files with <paramref name="options"/> (also used by <c>replay</c>).</summary>
    internal static int Execute(string[] paths, RunOptions options, string? durationText, string? profileText, string? summaryPath,
        string? logDir, string? configFile, CancellationToken cancellation)
    {
        // Redirected output (a log, a pipe, CI) gets plain text wide enough that no number is wrapped or cut.
        var console = Console.IsOutputRedirected ? ReportWriter.PlainConsole(Console.Out) : AnsiConsole.Console;
        if (profileText is not null)
        {
            var profiles = Enum.GetValues<NotifierProfile>().ToDictionary(p => Names.Kebab(p.ToString()), p => p, StringComparer.Ordinal);
            if (!profiles.TryGetValue(profileText, out var chosen))
            {
                Console.Error.WriteLine($"--profile: expected one of {string.Join(", ", profiles.Keys)}, got '{profileText}'");
                return ExitCodes.BadInput;
            }

            options = options with { Profile = chosen };
        }

        if (durationText is not null)
        {
            if (!ScenarioUnits.TryParseDuration(durationText, out var parsed, out var problem) || parsed <= TimeSpan.Zero)
            {
                Console.Error.WriteLine($"--duration: expected a positive duration such as 10s or 500ms, got '{durationText}'{(problem is null ? string.Empty : $" ({problem})")}");
                return ExitCodes.BadInput;
            }

            if (ScenarioLimits.CheckTimer(parsed) is { } expected)
            {
                Console.Error.WriteLine($"--duration: expected {expected}, got '{durationText}'");
                return ExitCodes.BadInput;
            }

            options = options with { Duration = parsed };
        }

        if (options.Mutation is { Length: 0 } || !MutationCatalog.TryParse(options.Mutation, out var mutation))
        {
            Console.Error.WriteLine($"--mutation: expected one of {string.Join(", ", MutationCatalog.Names)}, got '{options.Mutation}'");
            return ExitCodes.BadInput;
        }

        if (mutation.ForcedProfile is { } forced && options.Profile is { } asked && asked != forced)
        {
            Console.Error.WriteLine($"--profile: --mutation {options.Mutation} exists only in the {Names.Kebab(forced.ToString())} profile; " +
                $"expected --profile {Names.Kebab(forced.ToString())} or none, got '{profileText}'");
            return ExitCodes.BadInput;
        }

        var files = (paths.Length == 0 ? [RepositoryPaths.DefaultScenario] : paths).Select(RepositoryPaths.Resolve).ToList();
        if (summaryPath is not null)
        {
            // Before the run, not after it: a summary that cannot be written is bad input, like a bad --log-dir.
            OutputFile.Check("--summary", summaryPath, configFile is null ? files : [.. files, configFile]);
        }

        var loaded = ScenarioFiles.LoadAll(files, Console.Error);
        if (loaded is null)
        {
            return ExitCodes.BadInput;
        }

        if (options.Mmu == MmuMode.Shadow && loaded.FirstOrDefault(s => s.Guests.Any(g => g.Memslots.Any(m => m.AliasOf is not null))) is { } aliased)
        {
            Console.Error.WriteLine($"{aliased.Source}: --mmu shadow: expected guests without aliased memslots (aliasOf), which are TDP only");
            return ExitCodes.BadInput;
        }

        var (daemon, logging) = LoadSettings(configFile, logDir);

        // The daemon's full-disk policy: a log write that fails stops the run at once, and the exit code says so.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        using var monitor = logDir is null ? null : new Daemon.LogWriteMonitor(reason =>
        {
            Console.Error.WriteLine($"hypervisor: the log in '{Path.GetFullPath(logging.LogDirectory)}' cannot be written ({reason}); stopping the run");
            stop.Cancel();
        }, Console.Error);
        cancellation = stop.Token;
        var serilog = SerilogFactory.Create(logging, consoleLevel: null, writeFile: logDir is not null);
        using var loggerFactory = new SerilogLoggerFactory(serilog, dispose: false);
        var totals = new LiveTotals();
        var pipeline = new EventPipeline(loggerFactory.CreateLogger("Hypervisor.Pipeline"), totals, daemon.StatsInterval, daemon.ChannelCapacity,
            serilog: serilog);
        pipeline.Start();
        var summaries = new List<RunSummary>();
        try
        {
            options = options with { Events = pipeline.CreateSink() };
            // A stop ends the run after the current scenario; the first one always reports, so a run stopped while
            // starting up still prints and writes its (empty) summary.
            foreach (var scenario in loaded.TakeWhile((_, i) => i == 0 || !cancellation.IsCancellationRequested))
            {
                console.MarkupLine($"running [bold]{Markup.Escape(scenario.Name)}[/] (seed {options.Seed ?? scenario.Seed})");
                var result = RunProgress.Run(console, scenario, options, totals, cancellation);
                SummaryTable.Print(console, result);
                summaries.Add(result);
            }
        }
        finally
        {
            // Named wait: every run has returned; the consumer logs what is still queued before the file is closed.
            pipeline.Complete();
            pipeline.Completion.GetAwaiter().GetResult();
            try
            {
                serilog.Dispose();
            }
            catch (Exception e) when (monitor is not null && e is IOException or UnauthorizedAccessException)
            {
                monitor.Report(e);
            }
        }

        if (monitor is { Failed: true })
        {
            return ExitCodes.Failure;
        }

        if (summaryPath is not null && summaries.Count > 0)
        {
            try
            {
                SummaryJson.WriteFile("--summary", summaryPath, summaries[^1], configFile is null ? files : [.. files, configFile]);
            }
            catch (IOException e)
            {
                // A full disk or a failing device: the run happened, its summary did not reach the file.
                Console.Error.WriteLine(e.Message);
                return ExitCodes.Failure;
            }
        }

        return pipeline.Failure is not null ? ExitCodes.Failure : summaries.Select(s => s.ExitCode).DefaultIfEmpty(0).Max();
    }

    private static (DaemonOptions Daemon, LoggingOptions Logging) LoadSettings(string? configFile, string? logDir)
    {
        var overrides = new SettingsOverrides();
        if (logDir is not null)
        {
            overrides.Set($"{LoggingOptions.Section}:{nameof(LoggingOptions.LogDirectory)}", logDir);
        }

        using var configuration = new ConfigurationManager();
        HypervisorConfiguration.AddSources(configuration, configFile, overrides);
        return (SettingsBinder.Bind(configuration, DaemonOptions.Section, new DaemonOptionsValidator()),
            SettingsBinder.Bind(configuration, LoggingOptions.Section, new LoggingOptionsValidator()));
    }
}
