using Serilog.Debugging;

namespace Hypervisor.Host.Daemon;

/// <summary>
/// Hears about log writes that fail: the file sink does not throw to the code that logs (the async queue would only
/// swallow it), it reports to Serilog's <see cref="SelfLog"/>. A failure to write the file (a full disk, an I/O error,
/// a directory made read-only) calls <c>onFailure</c> once, at once, with a one-line reason; the caller's policy is to
/// stop its runners and exit non-zero, so events are never lost without a word. Other self-log messages are printed
/// on stderr, first line only. One monitor at a time per process (the self-log is global).
/// </summary>
internal sealed class LogWriteMonitor : IDisposable
{
    private readonly Action<string> _onFailure;
    private readonly TextWriter _console;
    private int _failed;

    public LogWriteMonitor(Action<string> onFailure, TextWriter console)
    {
        _onFailure = onFailure;
        _console = console;
        SelfLog.Enable(OnSelfLog);
    }

    /// <summary>True once a log write failed.</summary>
    public bool Failed => Volatile.Read(ref _failed) != 0;

    /// <summary>The reason of the first failure, or null.</summary>
    public string? Reason { get; private set; }

    public void Dispose() => SelfLog.Disable();

    /// <summary>Reports a failure found elsewhere (the final flush when the logger is disposed).</summary>
    public void Report(Exception error) => Fail($"{error.GetType().Name}: {error.Message}");

    /// <summary>The exception's type and message from a self-log text, or null when it carries no write failure.</summary>
    internal static string? WriteFailure(string message)
    {
        foreach (var type in (string[])["System.IO.IOException", "System.UnauthorizedAccessException", "System.IO.DirectoryNotFoundException"])
        {
            var at = message.IndexOf(type, StringComparison.Ordinal);
            if (at >= 0)
            {
                var line = message[at..].Split('\n', 2)[0].Trim();
                return line[(type.LastIndexOf('.') + 1)..];
            }
        }

        return null;
    }

    private void OnSelfLog(string message)
    {
        if (WriteFailure(message) is { } failure)
        {
            Fail(failure);
            return;
        }

        _console.WriteLine($"hypervisor: log: {message.Split('\n', 2)[0].Trim()}");
    }

    private void Fail(string reason)
    {
        if (Interlocked.Exchange(ref _failed, 1) != 0)
        {
            return;
        }

        Reason = reason;
        _onFailure(reason);
    }
}
