using Hypervisor.GuestModel.Scenarios;
using Hypervisor.Host.Cli;
using Hypervisor.Host.Configuration;
using Hypervisor.Host.Logging;
using Microsoft.Extensions.Logging;

namespace Hypervisor.Host.Daemon;

/// <summary>
/// Finds and loads the scenarios the daemon serves. A file that fails validation is logged (one
/// <c>ScenarioInvalid</c> event per problem, naming file, line, column and field) and skipped; the others are served.
/// An unreadable directory, or no valid scenario at all, is bad input.
/// </summary>
internal static class DaemonScenarios
{
    /// <summary>The valid scenarios of <paramref name="options"/>, in file order; throws <see cref="BadInputException"/> when none.</summary>
    public static IReadOnlyList<Scenario> Load(DaemonOptions options, ILogger logger)
    {
        var files = options.Scenarios.Count > 0
            ? options.Scenarios.Select(RepositoryPaths.Resolve).ToList()
            : ListDirectory(options.ScenarioDirectory);
        var scenarios = new List<Scenario>();
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var result = ScenarioLoader.Default.LoadFile(file);
            if (!result.Succeeded)
            {
                foreach (var line in ScenarioFiles.ErrorLines(result))
                {
                    logger.ScenarioInvalid(file, line);
                }

                continue;
            }

            if (sources.TryGetValue(result.Scenario.Name, out var first))
            {
                // Run ids are kept per scenario name: two files of one name cannot run side by side.
                logger.ScenarioInvalid(file, $"{file}: name: scenario '{result.Scenario.Name}' is already served from {first}; expected a unique name");
                continue;
            }

            sources[result.Scenario.Name] = file;
            scenarios.Add(result.Scenario);
        }

        if (scenarios.Count == 0)
        {
            var where = options.Scenarios.Count > 0
                ? $"{DaemonOptions.Section}:{nameof(options.Scenarios)}"
                : $"{DaemonOptions.Section}:{nameof(options.ScenarioDirectory)} '{options.ScenarioDirectory}'";
            throw new BadInputException($"{where}: expected at least one valid scenario file, found {files.Count} file(s) and none valid");
        }

        return scenarios;
    }

    private static List<string> ListDirectory(string directory)
    {
        var resolved = RepositoryPaths.Resolve(directory);
        var key = $"{DaemonOptions.Section}:{nameof(DaemonOptions.ScenarioDirectory)}";
        if (!Directory.Exists(resolved))
        {
            throw new BadInputException($"{key}: expected a directory of scenario files, got '{directory}' (not found)");
        }

        try
        {
            return [.. Directory.EnumerateFiles(resolved)
                .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{key}: expected a readable directory, got '{directory}' ({e.Message})", e);
        }
    }
}
