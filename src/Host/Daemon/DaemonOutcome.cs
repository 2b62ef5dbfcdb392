using Hypervisor.Host.Cli;

namespace Hypervisor.Host.Daemon;

/// <summary>
/// What the daemon's exit code will be, gathered while it runs: the worst run result (0 clean, 1 violations) unless
/// something failed (an exception out of a runner or the consumer, a shutdown that timed out), which makes it
/// <see cref="ExitCodes.Failure"/>. The generic host itself exits 0 after a failed background service, so
/// <c>Main</c> returns this instead. Thread-safe.
/// </summary>
internal sealed class DaemonOutcome
{
    private int _worstRun;
    private int _failures;
    private Exception? _firstFailure;

    /// <summary>Whether anything failed.</summary>
    public bool Failed => Volatile.Read(ref _failures) > 0;

    /// <summary>The first failure recorded, or null.</summary>
    public Exception? FirstFailure => Volatile.Read(ref _firstFailure);

    /// <summary>The exit code so far: 3 after a failure, else 1 if any run found violations, else 0.</summary>
    public int ExitCode => Failed ? ExitCodes.Failure : Volatile.Read(ref _worstRun);

    /// <summary>A run ended with <paramref name="exitCode"/> (its summary's).</summary>
    public void RecordRun(int exitCode)
    {
        var seen = Volatile.Read(ref _worstRun);
        while (exitCode > seen)
        {
            var was = Interlocked.CompareExchange(ref _worstRun, exitCode, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }

    /// <summary>Something failed: the process must not exit 0.</summary>
    public void RecordFailure(Exception error)
    {
        Interlocked.CompareExchange(ref _firstFailure, error, null);
        Interlocked.Increment(ref _failures);
    }
}
