using Serilog;
using Serilog.Events;

namespace Hypervisor.Host.Configuration;

/// <summary>
/// The <c>Logging</c> section of the settings: a human console sink (stderr) and a JSON-lines file sink that rolls by
/// time and size. The file is written by the thread that logs (the pipeline's consumer, for the hot events), so a slow
/// disk slows the pipeline down and fills its channel instead of losing an event.
/// </summary>
internal sealed class LoggingOptions
{
    /// <summary>The settings section these options bind to.</summary>
    public const string Section = "Logging";

    /// <summary>Directory of the JSON log files (created when missing); <c>--log-dir</c> overrides it.</summary>
    public string LogDirectory { get; set; } = "logs";

    /// <summary>File name; Serilog inserts the date (and a <c>_NNN</c> roll number) before the extension.</summary>
    public string FileName { get; set; } = "hypervisor-.jsonl";

    /// <summary>When a new file starts regardless of size.</summary>
    public RollingInterval RollingInterval { get; set; } = RollingInterval.Day;

    /// <summary>Size at which a file rolls; null for no limit.</summary>
    public long? FileSizeLimitBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Must stay true while <see cref="FileSizeLimitBytes"/> is set: otherwise Serilog drops events past the limit.</summary>
    public bool RollOnFileSizeLimit { get; set; } = true;

    /// <summary>How many files are kept; null keeps all.</summary>
    public int? RetainedFileCountLimit { get; set; } = 31;

    /// <summary>Minimum level of the console sink.</summary>
    public LogEventLevel ConsoleLevel { get; set; } = LogEventLevel.Information;

    /// <summary>Minimum level of the file sink; <c>Debug</c> or lower keeps every invalidation.</summary>
    public LogEventLevel FileLevel { get; set; } = LogEventLevel.Debug;

    /// <summary>How often buffered file output reaches the disk while the process runs (all of it does on shutdown).</summary>
    public TimeSpan FlushToDiskInterval { get; set; } = TimeSpan.FromSeconds(2);
}
