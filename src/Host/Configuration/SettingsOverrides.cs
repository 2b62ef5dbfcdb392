using Microsoft.Extensions.Configuration;

namespace Hypervisor.Host.Configuration;

/// <summary>
/// Settings given on the command line (<c>--Daemon:Key=value</c>, <c>--log-dir</c>): the last and strongest
/// configuration source. Its own provider type lets an error message say that a value came from the command line.
/// </summary>
internal sealed class SettingsOverrides : IConfigurationSource
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The sections a command-line override may name.</summary>
    public static readonly IReadOnlyList<string> Sections = [DaemonOptions.Section, LoggingOptions.Section, MetricsOptions.Section];

    /// <summary>Sets <paramref name="key"/> (<c>Section:Key</c>).</summary>
    public void Set(string key, string? value) => _values[key] = value;

    /// <summary>
    /// Takes tokens of the form <c>--Section:Key=value</c>; anything else is bad input (one line naming the token).
    /// </summary>
    public void AddTokens(IEnumerable<string> tokens)
    {
        foreach (var token in tokens)
        {
            var equals = token.IndexOf('=', StringComparison.Ordinal);
            var key = token.StartsWith("--", StringComparison.Ordinal) && equals > 2 ? token[2..equals] : null;
            var colon = key?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            if (key is null || colon <= 0 || colon == key.Length - 1
                || !Sections.Contains(key[..colon], StringComparer.OrdinalIgnoreCase))
            {
                throw new BadInputException(
                    $"unexpected argument '{token}': expected an option of the verb or a setting such as --{DaemonOptions.Section}:ScenarioDirectory=DIR or --{LoggingOptions.Section}:ConsoleLevel=Warning");
            }

            Set(key, token[(equals + 1)..]);
        }
    }

    /// <inheritdoc/>
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(_values);

    /// <summary>Serves the overrides to the configuration.</summary>
    internal sealed class Provider : ConfigurationProvider
    {
        public Provider(Dictionary<string, string?> values)
        {
            foreach (var (key, value) in values)
            {
                Data[key] = value;
            }
        }
    }
}
