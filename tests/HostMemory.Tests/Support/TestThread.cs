using System.Runtime.ExceptionServices;

namespace Hypervisor.HostMemory.Tests.Support;

/// <summary>
/// Runs one action on a dedicated, named background thread and keeps its exception, so a test can start a host
/// operation that will block, check what happens meanwhile, and join it with a timeout.
/// </summary>
public sealed class TestThread : IDisposable
{
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _done = new();
    private ExceptionDispatchInfo? _failure;

    private TestThread(string name, Action action)
    {
        _thread = new Thread(() =>
        {
            try
            {
                action();
            }
#pragma warning disable CA1031 // Rethrown on the test thread by Join.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _failure = ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                _done.Set();
            }
        })
        {
            Name = name,
            IsBackground = true,
        };
    }

    public static TestThread Start(string name, Action action)
    {
        var t = new TestThread(name, action);
        t._thread.Start();
        return t;
    }

    /// <summary>Managed id of the thread.</summary>
    public int ManagedThreadId => _thread.ManagedThreadId;

    public bool IsDone => _done.IsSet;

    /// <summary>Waits up to <paramref name="timeout"/> for the action to finish; false if it is still running.</summary>
    public bool WaitDone(TimeSpan timeout, CancellationToken cancellation = default) => _done.Wait(timeout, cancellation);

    /// <summary>Waits for the action and rethrows its exception, if any. Throws <see cref="TimeoutException"/> if it hangs.</summary>
    public void Join(TimeSpan timeout, CancellationToken cancellation = default)
    {
        if (!_done.Wait(timeout, cancellation))
        {
            throw new TimeoutException($"thread '{_thread.Name}' did not finish within {timeout}");
        }

        _failure?.Throw();
    }

    /// <summary>Releases the completion event once the thread is done; a still-running thread keeps it (it will set it).</summary>
    public void Dispose()
    {
        if (_done.IsSet)
        {
            _done.Dispose();
        }
    }
}
