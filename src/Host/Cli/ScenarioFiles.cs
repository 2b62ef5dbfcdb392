using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.Host.Cli;

/// <summary>
/// Loads scenario files for a verb, printing one line per error (file:line:column: path: message), at most
/// <see cref="ScenarioLimits.MaxPrintedErrors"/> per file and then one "... and N more" line.
/// </summary>
internal static class ScenarioFiles
{
    public static List<Scenario>? LoadAll(IEnumerable<string> paths, TextWriter errors)
    {
        var scenarios = new List<Scenario>();
        var failed = false;
        foreach (var path in paths)
        {
            var result = ScenarioLoader.Default.LoadFile(RepositoryPaths.Resolve(path));
            if (result.Scenario is { } scenario)
            {
                scenarios.Add(scenario);
                continue;
            }

            failed = true;
            foreach (var line in ErrorLines(result))
            {
                errors.WriteLine(line);
            }
        }

        return failed ? null : scenarios;
    }

    /// <summary>The error lines of a failed load, capped at <see cref="ScenarioLimits.MaxPrintedErrors"/>.</summary>
    public static IEnumerable<string> ErrorLines(ScenarioLoadResult result)
    {
        foreach (var error in result.Errors.Take(ScenarioLimits.MaxPrintedErrors))
        {
            yield return error.ToString();
        }

        if (result.Errors.Count > ScenarioLimits.MaxPrintedErrors)
        {
            yield return $"{result.Errors[0].File}: ... and {result.Errors.Count - ScenarioLimits.MaxPrintedErrors} more errors";
        }
    }
}
