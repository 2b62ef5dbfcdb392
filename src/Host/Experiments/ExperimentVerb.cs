using System.CommandLine;
using System.Globalization;
using Hypervisor.Host.Cli;
using Hypervisor.Host.Configuration;

namespace Hypervisor.Host.Experiments;

/// <summary>
/// <c>hypervisor experiment NAME... [--seeds N] [--out DIR]</c>, <c>--list</c> and <c>--docs FILE</c>: the seeds'
/// claims, measured, each experiment writing its report into <c>DIR/NAME/</c>.
/// </summary>
internal static class ExperimentVerb
{
    public const string DefaultOut = "experiment-results";

    public static Command Create()
    {
        var names = new Argument<string[]>("name")
        {
            Description = "Experiments to run (see --list), or 'all'.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var seeds = new Option<int?>("--seeds") { Description = "Seeds per experiment (default: the experiment's own, usually 5)." };
        var outDir = new Option<string>("--out") { Description = "Directory for the reports (one sub-directory per experiment).", DefaultValueFactory = _ => DefaultOut };
        var list = new Option<bool>("--list") { Description = "List the experiments, with the claim each tests." };
        var scale = new Option<string?>("--scale") { Description = "Multiply every repetition count (default 1: about two minutes per experiment; 0.05 for a quick look)." };
        var docs = new Option<string?>("--docs") { Description = "After running, write docs/experiments.md-style documentation of every report under --out to this file." };
        var command = new Command("experiment", "Measure the claims of the seed discussions: reports with medians and 95% confidence intervals, CSV and SVG charts.")
        {
            names, seeds, outDir, list, scale, docs,
        };
        command.SetAction(parse => Execute(parse.GetValue(names) ?? [], parse.GetValue(seeds), parse.GetValue(outDir)!, parse.GetValue(list),
            parse.GetValue(scale), parse.GetValue(docs), Console.Out));
        return command;
    }

    internal static int Execute(string[] names, int? seeds, string outDirectory, bool list, string? scaleText, string? docsPath, TextWriter output)
    {
        if (list)
        {
            List(output);
            return ExitCodes.Clean;
        }

        if (names.Length == 0 && docsPath is null)
        {
            throw new BadInputException($"experiment: expected an experiment name ({string.Join(", ", ExperimentCatalog.All.Select(e => e.Name))}, all), --list or --docs");
        }

        if (seeds is < 1 or > 1000)
        {
            throw new BadInputException($"--seeds: expected an integer from 1 to 1000, got {seeds}");
        }

        var scale = 1.0;
        if (scaleText is not null && (!double.TryParse(scaleText, NumberStyles.Float, CultureInfo.InvariantCulture, out scale) || scale is <= 0 or > 100 || !double.IsFinite(scale)))
        {
            throw new BadInputException($"--scale: expected a number above 0 and at most 100, got '{scaleText}'");
        }

        var chosen = new List<Experiment>();
        foreach (var name in names)
        {
            if (name == "all")
            {
                chosen.AddRange(ExperimentCatalog.All.Where(e => e.Unavailable is null));
                continue;
            }

            var experiment = ExperimentCatalog.Find(name)
                ?? throw new BadInputException($"experiment: expected one of {string.Join(", ", ExperimentCatalog.All.Select(e => e.Name))} or all, got '{name}'");
            chosen.Add(experiment);
        }

        // Bad input is found before any experiment runs: an unavailable one named, an output that cannot be written.
        foreach (var experiment in chosen.Where(e => e.Unavailable is not null))
        {
            throw new BadInputException($"experiment {experiment.Name}: unavailable on this build: {experiment.Unavailable}");
        }

        try
        {
            Directory.CreateDirectory(outDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new BadInputException($"--out: expected a directory that can be written, got '{outDirectory}' ({e.Message})", e);
        }

        if (docsPath is not null)
        {
            OutputFile.Check("--docs", docsPath, []);
        }

        foreach (var experiment in chosen.Distinct())
        {
            ExperimentRunner.Run(experiment, seeds, scale, outDirectory, output);
        }

        if (docsPath is not null)
        {
            OutputFile.Write("--docs", docsPath, [], writer => writer.Write(ExperimentRunner.Docs(outDirectory)));
            output.WriteLine($"docs: {docsPath}");
        }

        return ExitCodes.Clean;
    }

    private static void List(TextWriter output)
    {
        foreach (var experiment in ExperimentCatalog.All)
        {
            output.WriteLine($"{experiment.Name,-26} {experiment.Title}");
            foreach (var claim in experiment.Claims)
            {
                output.WriteLine($"{string.Empty,-26}   \"{claim.Quote}\" ({claim.Author}, seeds/{claim.SeedFile})");
            }

            output.WriteLine(experiment.Unavailable is { } reason ? $"{string.Empty,-26}   unavailable: {reason}" : $"{string.Empty,-26}   default seeds: {experiment.DefaultSeeds}");
        }
    }
}
