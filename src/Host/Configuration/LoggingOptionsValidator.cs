using Microsoft.Extensions.Options;

namespace Hypervisor.Host.Configuration;

/// <summary>Checks <see cref="LoggingOptions"/>; each failure is one line <c>Logging:Key: expected ..., got ...</c>.</summary>
internal sealed class LoggingOptionsValidator : IValidateOptions<LoggingOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, LoggingOptions options)
    {
        var problems = new List<string>();
        var s = LoggingOptions.Section;
        if (string.IsNullOrWhiteSpace(options.LogDirectory))
        {
            problems.Add($"{s}:{nameof(options.LogDirectory)}: expected a directory path, got nothing");
        }

        if (string.IsNullOrWhiteSpace(options.FileName) || options.FileName.IndexOfAny(['/', '\\']) >= 0)
        {
            problems.Add($"{s}:{nameof(options.FileName)}: expected a file name without a directory (such as hypervisor-.jsonl), got '{options.FileName}'");
        }

        if (options.FileSizeLimitBytes is { } limit)
        {
            OptionChecks.AtLeast(problems, $"{s}:{nameof(options.FileSizeLimitBytes)}", limit, 4096);
            if (!options.RollOnFileSizeLimit)
            {
                problems.Add($"{s}:{nameof(options.RollOnFileSizeLimit)}: expected true while {nameof(options.FileSizeLimitBytes)} is set (a full file would drop events), got false");
            }
        }

        if (options.RetainedFileCountLimit is { } retained)
        {
            OptionChecks.AtLeast(problems, $"{s}:{nameof(options.RetainedFileCountLimit)}", retained, 1);
        }

        OptionChecks.Positive(problems, $"{s}:{nameof(options.FlushToDiskInterval)}", options.FlushToDiskInterval);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
