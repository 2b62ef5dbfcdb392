namespace Hypervisor.HostMemory.Tests.Support;

/// <summary>
/// Parks the next callback of one kind inside a <see cref="RecordingNotifier"/> until the test opens the gate: the
/// parked-thread helper for races such as "unregister while a callback runs".
/// </summary>
public sealed class CallbackGate : IDisposable
{
    private readonly ManualResetEventSlim _entered = new();
    private readonly ManualResetEventSlim _open = new();
    private readonly ManualResetEventSlim _returned = new();
    private readonly CancellationToken _cancellation;

    public CallbackGate(CallbackKind kind, CancellationToken cancellation)
    {
        Kind = kind;
        _cancellation = cancellation;
    }

    public CallbackKind Kind { get; }

    /// <summary>Set once the parked callback has entered (it is now blocked).</summary>
    public bool HasEntered => _entered.IsSet;

    /// <summary>Set once the parked callback has returned to the host.</summary>
    public bool HasReturned => _returned.IsSet;

    /// <summary>Waits until the callback is parked; false on timeout.</summary>
    public bool WaitEntered(TimeSpan timeout) => _entered.Wait(timeout, _cancellation);

    /// <summary>Waits until the parked callback has returned; false on timeout.</summary>
    public bool WaitReturned(TimeSpan timeout) => _returned.Wait(timeout, _cancellation);

    /// <summary>Lets the parked callback continue.</summary>
    public void Open() => _open.Set();

    /// <summary>Runs on the callback's thread: announce, then park until <see cref="Open"/> (or the test is cancelled).</summary>
    internal void Park()
    {
        _entered.Set();
        // Named wait: the callback is deliberately blocked here until the test calls Open().
        _open.Wait(_cancellation);
    }

    internal void MarkReturned() => _returned.Set();

    /// <summary>
    /// Opens the gate so that no host thread stays parked behind a failed test. The events are not disposed: the
    /// parked thread may still be about to signal them (they hold no kernel handle unless one is asked for).
    /// </summary>
    public void Dispose() => _open.Set();
}
