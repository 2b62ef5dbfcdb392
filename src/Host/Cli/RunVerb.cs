using System.CommandLine;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;
using Hypervisor.GuestModel.Summary;
using Spectre.Console;

namespace Hypervisor.Host.Cli;

/// <summary><c>hypervisor run [SCENARIO...]</c>: runs scenario files to completion and prints their summaries.</summary>
internal static class RunVerb
{
    public static Command Create()
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
        var command = new Command("run", "Run scenarios and print their summaries.") { scenarios, seed, duration, mutation, summary };
        command.SetAction((parse, cancellation) => Task.FromResult(Execute(
            parse.GetValue(scenarios) ?? [], parse.GetValue(seed), parse.GetValue(duration), parse.GetValue(mutation),
            parse.GetValue(summary), cancellation)));
        return command;
    }

    private static int Execute(string[] paths, ulong? seed, string? durationText, string? mutation, string? summaryPath,
        CancellationToken cancellation)
    {
        var console = AnsiConsole.Console;
        TimeSpan? duration = null;
        if (durationText is not null)
        {
            if (!ScenarioUnits.TryParseDuration(durationText, out var parsed, out var problem) || parsed <= TimeSpan.Zero)
            {
                Console.Error.WriteLine($"--duration: expected a positive duration such as 10s or 500ms, got '{durationText}'{(problem is null ? string.Empty : $" ({problem})")}");
                return ExitCodes.BadInput;
            }

            duration = parsed;
        }

        if (!MutationCatalog.TryParse(mutation, out _))
        {
            Console.Error.WriteLine($"--mutation: unknown variant '{mutation}'; expected one of {string.Join(", ", MutationCatalog.Names)}");
            return ExitCodes.BadInput;
        }

        var loaded = ScenarioFiles.LoadAll(paths.Length == 0 ? [RepositoryPaths.DefaultScenario] : paths, Console.Error);
        if (loaded is null)
        {
            return ExitCodes.BadInput;
        }

        var summaries = new List<RunSummary>();
        foreach (var scenario in loaded)
        {
            console.MarkupLine($"running [bold]{Markup.Escape(scenario.Name)}[/] (seed {seed ?? scenario.Seed})");
            var result = new ScenarioRunner().Run(scenario, new RunOptions { Seed = seed, Duration = duration, Mutation = mutation }, cancellation);
            SummaryTable.Print(console, result);
            summaries.Add(result);
        }

        if (summaryPath is not null)
        {
            SummaryJson.WriteFile(summaryPath, summaries[^1]);
        }

        return summaries.Max(s => s.ExitCode);
    }
}
