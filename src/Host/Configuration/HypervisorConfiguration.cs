using Hypervisor.Host.Cli;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;

namespace Hypervisor.Host.Configuration;

/// <summary>
/// The configuration sources of every verb, weakest first: the settings file (<c>config/appsettings.json</c> or
/// <c>--config</c>), environment variables <c>HYPERVISOR__Section__Key</c>, then command-line overrides.
/// </summary>
internal static class HypervisorConfiguration
{
    /// <summary>The settings file used without <c>--config</c>; missing is fine (defaults apply).</summary>
    public const string DefaultFile = "config/appsettings.json";

    /// <summary>Prefix of the environment variables read as settings (<c>HYPERVISOR__Daemon__ScenarioDirectory</c>).</summary>
    public const string EnvironmentPrefix = "HYPERVISOR__";

    /// <summary>
    /// Adds the sources to <paramref name="builder"/> and returns the settings file used, if any. An explicit
    /// <paramref name="configFile"/> that does not exist, or a file that is not JSON, is bad input.
    /// </summary>
    public static string? AddSources(IConfigurationBuilder builder, string? configFile, SettingsOverrides overrides)
    {
        var file = configFile is null ? ExistingOrNull(RepositoryPaths.Resolve(DefaultFile)) : RequireFile(configFile);
        if (file is not null)
        {
            try
            {
                builder.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
                if (builder is IConfigurationRoot root)
                {
                    // A ConfigurationManager loads on Add; a plain builder loads on Build. Either way, fail here.
                    _ = root.GetSection(DaemonOptions.Section).Exists();
                }
            }
            catch (InvalidDataException e)
            {
                throw new BadInputException($"{file}: expected a JSON settings file: {OneLine(e.InnerException?.Message ?? e.Message)}", e);
            }
        }

        builder.AddEnvironmentVariables(EnvironmentPrefix);
        builder.Add(overrides);
        return file;
    }

    /// <summary>Where the value of <paramref name="key"/> came from, for an error message.</summary>
    public static string SourceOf(IConfigurationRoot root, string key)
    {
        foreach (var provider in root.Providers.Reverse())
        {
            if (!provider.TryGet(key, out _) && !provider.GetChildKeys([], key).Any())
            {
                continue;
            }

            return provider switch
            {
                JsonConfigurationProvider json => json.Source.FileProvider is Microsoft.Extensions.FileProviders.PhysicalFileProvider physical
                    ? Display(Path.Combine(physical.Root, json.Source.Path ?? string.Empty))
                    : json.Source.Path ?? "settings file",
                EnvironmentVariablesConfigurationProvider => $"environment variable {EnvironmentPrefix}{key.Replace(":", "__", StringComparison.Ordinal)}",
                SettingsOverrides.Provider => "command line",
                _ => "settings",
            };
        }

        return "settings";
    }

    /// <summary>A path relative to the working directory when it lies below it, else absolute.</summary>
    private static string Display(string path)
    {
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }

    private static string? ExistingOrNull(string path) => File.Exists(path) ? path : null;

    private static string RequireFile(string path)
    {
        var resolved = RepositoryPaths.Resolve(path);
        return File.Exists(resolved)
            ? resolved
            : throw new BadInputException($"--config: expected an existing settings file, got '{path}' (not found)");
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
