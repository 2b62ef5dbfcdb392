using System.CommandLine;
using Hypervisor.GuestModel.Exploration;
using Hypervisor.Host.Configuration;
using Hypervisor.GuestModel.Running;
using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.Host.Cli;

/// <summary>
/// <c>hypervisor explore --all-mutations [--seeds N] [--budget 30s] [--mutation M] [--out FILE]</c>: explores every
/// broken variant on the scenario built for it, once per seed, each search within a CPU-time budget, and prints the
/// table of schedules and seconds to the first violation with a replay token. Exit 0 when every variant was found
/// with every seed, 1 when one was not.
/// </summary>
internal static partial class ExploreVerb
{
    private static (Option<bool> All, Option<int> Seeds, Option<string> Budget) AllMutationsOptions() =>
    (
        new Option<bool>("--all-mutations") { Description = "Explore every mutation on the scenario built for it and print the detection table." },
        new Option<int>("--seeds") { Description = "--all-mutations: run seeds per mutation (medians are over them).", DefaultValueFactory = _ => 3 },
        new Option<string>("--budget") { Description = "--all-mutations: CPU time each search may take.", DefaultValueFactory = _ => "30s" }
    );

    private static int AllMutations(string? only, int seeds, string budgetText, string? output, CancellationToken cancellation)
    {
        if (seeds is < 1 or > 100)
        {
            throw new BadInputException($"--seeds: expected 1 to 100, got {seeds}");
        }

        if (!ScenarioUnits.TryParseDuration(budgetText, out var budget, out _) || budget <= TimeSpan.Zero || budget > TimeSpan.FromHours(24))
        {
            throw new BadInputException($"--budget: expected a positive duration such as 30s, got '{budgetText}'");
        }

        if (only is not null && !MutationSuite.Variants.Any(v => v.Mutation == only))
        {
            throw new BadInputException($"--mutation: expected one of {string.Join(", ", MutationSuite.Variants.Select(v => v.Mutation))}, got '{only}'");
        }

        var options = new MutationSuiteOptions { Seeds = seeds, Budget = budget };
        var suite = new MutationSuite(Load, options);
        Console.WriteLine($"exploring {(only ?? $"{MutationSuite.Variants.Count} mutations")}, {seeds} seed(s) each, {budget.TotalSeconds:0.#} s of CPU per search");
        var rows = suite.MeasureAll(only is null ? null : [only], Console.WriteLine, cancellation);
        var table = MutationSuite.Table(rows, options);
        Console.WriteLine();
        Console.Write(table);
        if (output is not null)
        {
            OutputFile.Write("--out", output, [], writer => writer.Write(table));
        }

        if (cancellation.IsCancellationRequested)
        {
            return ExploreResult.InterruptedExitCode;
        }

        return rows.All(r => r.Found == r.Trials.Count) ? ExitCodes.Clean : ExitCodes.Violations;
    }

    private static Scenario Load(string path)
    {
        var resolved = RepositoryPaths.Resolve(path);
        var loaded = ScenarioFiles.LoadAll([resolved], Console.Error) ?? throw new BadInputException($"{path}: the scenario does not load");
        return loaded[0];
    }
}
