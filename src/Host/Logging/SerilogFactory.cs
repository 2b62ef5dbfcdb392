using Hypervisor.Host.Configuration;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Hypervisor.Host.Logging;

/// <summary>
/// Builds the process's one Serilog logger from <see cref="LoggingOptions"/>: a human console sink on stderr and a
/// JSON-lines file sink (compact JSON, <see cref="CompactLogFormatter"/>, buffered). The file is written on the thread
/// that logs: for the hot events that is the pipeline's consumer, already off the simulation's threads behind its
/// bounded channel, so a slow disk slows the consumer, the channel fills and producers wait; nothing is dropped. (An
/// async sink in between measured slower: one more queue and thread for every event, on two cores.) The caller
/// disposes the logger at the very end: that flushes the file.
/// </summary>
internal static class SerilogFactory
{
    /// <summary>The console sink's line: time, level, rendered message.</summary>
    public const string ConsoleTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}";

    /// <summary>
    /// Creates the logger. <paramref name="consoleLevel"/> null means no console sink; <paramref name="writeFile"/>
    /// false means no file sink. Throws <see cref="BadInputException"/> when the log directory cannot be created.
    /// </summary>
    public static Logger Create(LoggingOptions options, LogEventLevel? consoleLevel, bool writeFile)
    {
        var levels = new List<LogEventLevel>();
        var configuration = new LoggerConfiguration();
        if (consoleLevel is { } console)
        {
            levels.Add(console);
            configuration.WriteTo.Console(restrictedToMinimumLevel: console, outputTemplate: ConsoleTemplate,
                standardErrorFromLevel: LogEventLevel.Verbose, formatProvider: System.Globalization.CultureInfo.InvariantCulture);
        }

        if (writeFile)
        {
            levels.Add(options.FileLevel);
            var path = Path.Combine(CreateDirectory(options.LogDirectory), options.FileName);
            configuration.WriteTo.File(new CompactLogFormatter(), path, restrictedToMinimumLevel: options.FileLevel,
                fileSizeLimitBytes: options.FileSizeLimitBytes, buffered: true, flushToDiskInterval: options.FlushToDiskInterval,
                rollingInterval: options.RollingInterval, rollOnFileSizeLimit: options.RollOnFileSizeLimit,
                retainedFileCountLimit: options.RetainedFileCountLimit);
        }

        // With no sink at all, raise the floor so the pipeline's Debug events are refused at IsEnabled, before any work.
        configuration.MinimumLevel.Is(levels.Count == 0 ? LogEventLevel.Fatal : levels.Min());

        // The framework's own events (the generic host's "Hosting starting", ...) reuse small event ids of their own;
        // below Warning they would only blur the catalogue's ids in the file. Ours carry SourceContext Hypervisor.*.
        configuration.MinimumLevel.Override("Microsoft", LogEventLevel.Warning);
        return configuration.CreateLogger();
    }

    /// <summary>Creates the log directory up front: Serilog would only complain to its self-log.</summary>
    public static string CreateDirectory(string directory)
    {
        try
        {
            return Directory.CreateDirectory(directory).FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new BadInputException($"{LoggingOptions.Section}:{nameof(LoggingOptions.LogDirectory)}: expected a directory that can be created, got '{directory}' ({e.Message})", e);
        }
    }
}
