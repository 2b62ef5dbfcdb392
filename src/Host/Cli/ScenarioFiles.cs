using Hypervisor.GuestModel.Scenarios;

namespace Hypervisor.Host.Cli;

/// <summary>Loads scenario files for a verb, printing one line per error (file:line:column: path: message).</summary>
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
            foreach (var error in result.Errors)
            {
                errors.WriteLine(error.ToString());
            }
        }

        return failed ? null : scenarios;
    }
}
