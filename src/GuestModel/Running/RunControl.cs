namespace Hypervisor.GuestModel.Running;

/// <summary>
/// Shared stop signal and access budget of one run. Workers poll <see cref="StopRequested"/> between batches and
/// wait on <see cref="Stopping"/> instead of sleeping, so a stop is never late by more than a batch.
/// </summary>
public sealed class RunControl : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private long _budget;

    public RunControl(long? accessBudget) => _budget = accessBudget ?? long.MaxValue;

    public bool StopRequested => _stop.IsCancellationRequested;

    public CancellationToken Stopping => _stop.Token;

    public void RequestStop() => _stop.Cancel();

    public void Dispose() => _stop.Dispose();

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
