using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hypervisor.Host.Configuration;

/// <summary>
/// Binds and validates an options section before anything starts, so a bad setting is one line naming where it
/// came from, the key and what was expected (<c>config/appsettings.json: Daemon:StatsInterval: expected ...</c>),
/// never an exception out of the host's start.
/// </summary>
internal static class SettingsBinder
{
    /// <summary>Binds <paramref name="section"/> to a new <typeparamref name="T"/> and validates it; throws <see cref="BadInputException"/>.</summary>
    public static T Bind<T>(IConfigurationRoot root, string section, IValidateOptions<T> validator)
        where T : class, new()
    {
        var problems = new List<string>();
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var child in root.GetSection(section).GetChildren())
        {
            if (!properties.TryGetValue(child.Key, out var property))
            {
                problems.Add($"{HypervisorConfiguration.SourceOf(root, child.Path)}: {child.Path}: unknown setting; expected one of {string.Join(", ", properties.Keys)}");
                continue;
            }

            try
            {
                _ = child.Get(property.PropertyType);
            }
            catch (InvalidOperationException)
            {
                problems.Add($"{HypervisorConfiguration.SourceOf(root, child.Path)}: {child.Path}: expected {Expected(property.PropertyType)}, got '{child.Value}'");
            }
        }

        Throw(problems);
        var options = new T();
        root.GetSection(section).Bind(options);
        var result = validator.Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            Throw([.. result.Failures.Select(f => $"{HypervisorConfiguration.SourceOf(root, KeyOf(f))}: {f}")]);
        }

        return options;
    }

    private static void Throw(List<string> problems)
    {
        if (problems.Count > 0)
        {
            throw new BadInputException(string.Join(Environment.NewLine, problems));
        }
    }

    private static string KeyOf(string failure)
    {
        var end = failure.IndexOf(": ", StringComparison.Ordinal);
        return end < 0 ? failure : failure[..end];
    }

    private static string Expected(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(TimeSpan) => "a time span such as 00:00:10 (hh:mm:ss)",
            _ when type == typeof(int) || type == typeof(long) => "an integer",
            _ when type == typeof(bool) => "true or false",
            _ when type.IsEnum => "one of " + string.Join(", ", Enum.GetNames(type)),
            _ when type == typeof(List<string>) => "a list of strings",
            _ => type.Name,
        };
    }
}
