using System.Runtime.ExceptionServices;

namespace Hypervisor.GuestModel.Running;

/// <summary>
/// Shared stop signal and access budget of one run. Workers poll <see cref="StopRequested"/> between batches and
/// wait on <see cref="Stopping"/> instead of sleeping, so a stop is never late by more than a batch.
/// </summary>
public sealed class RunControl : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private long _budget;
    private ExceptionDispatchInfo? _failure;

    public RunControl(long? accessBudget) => _budget = accessBudget ?? long.MaxValue;

    public bool StopRequested => _stop.IsCancellationRequested;

    public CancellationToken Stopping => _stop.Token;

    public void RequestStop() => _stop.Cancel();

    public void Dispose() => _stop.Dispose();

    /// <summary>
    /// Wraps the body of a vCPU or activity thread: an exception there (a bug in the simulator) is kept and stops the
    /// run, instead of tearing the process down with it. The runner rethrows it with <see cref="ThrowIfFailed"/>.
    /// </summary>
    public ThreadStart Guard(Action body) => () =>
    {
        try
        {
            body();
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            RequestStop();
        }
    };

    /// <summary>Rethrows the first exception a guarded thread raised, with its original stack trace.</summary>
    public void ThrowIfFailed() => Volatile.Read(ref _failure)?.Throw();

    /// <summary>Claims up to <paramref name="batch"/> accesses from the budget; returns how many were granted.</summary>
    public int ClaimAccesses(int batch)
    {
        if (Interlocked.Read(ref _budget) == long.MaxValue)
        {
            return batch;
        }

        var left = Interlocked.Add(ref _budget, -batch) + batch;
        if (left <= 0)
        {
            RequestStop();
            return 0;
        }

        return (int)Math.Min(batch, left);
    }

    /// <summary>Waits for <paramref name="delay"/> unless the run stops first; true if the run is still going.</summary>
    public bool Sleep(TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            return !StopRequested;
        }

        return !_stop.Token.WaitHandle.WaitOne(delay);
    }
}
