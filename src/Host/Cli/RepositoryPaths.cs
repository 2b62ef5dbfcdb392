namespace Hypervisor.Host.Cli;

/// <summary>Finds the default scenario whether the tool runs from the repository, its build output or a container.</summary>
internal static class RepositoryPaths
{
    public const string DefaultScenario = "config/scenarios/quickstart.yaml";

    /// <summary>Resolves a relative config path against the working directory, then the app's base directory and its parents.</summary>
    public static string Resolve(string relative)
    {
        if (Path.IsPathRooted(relative) || File.Exists(relative) || Directory.Exists(relative))
        {
            return relative;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate) || Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return relative;
    }
}
