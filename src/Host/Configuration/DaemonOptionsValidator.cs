using Microsoft.Extensions.Options;

namespace Hypervisor.Host.Configuration;

/// <summary>Checks <see cref="DaemonOptions"/>; each failure is one line <c>Daemon:Key: expected ..., got ...</c>.</summary>
internal sealed class DaemonOptionsValidator : IValidateOptions<DaemonOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, DaemonOptions options)
    {
        var problems = new List<string>();
        var s = DaemonOptions.Section;
        if (options.Scenarios.Count == 0 && string.IsNullOrWhiteSpace(options.ScenarioDirectory))
        {
            problems.Add($"{s}:{nameof(options.ScenarioDirectory)}: expected a directory of scenario files (or a {s}:{nameof(options.Scenarios)} list), got nothing");
        }

        for (var i = 0; i < options.Scenarios.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Scenarios[i]))
            {
                problems.Add($"{s}:{nameof(options.Scenarios)}:{i}: expected a scenario file path, got an empty string");
            }
        }

        OptionChecks.Positive(problems, $"{s}:{nameof(options.StatsInterval)}", options.StatsInterval);
        OptionChecks.Positive(problems, $"{s}:{nameof(options.ShutdownTimeout)}", options.ShutdownTimeout);
        if (options.RestartDelay < TimeSpan.Zero)
        {
            problems.Add($"{s}:{nameof(options.RestartDelay)}: expected a time span >= 00:00:00, got {options.RestartDelay}");
        }

        OptionChecks.AtLeast(problems, $"{s}:{nameof(options.ChannelCapacity)}", options.ChannelCapacity, 16);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
