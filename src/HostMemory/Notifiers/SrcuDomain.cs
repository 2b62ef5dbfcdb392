using Hypervisor.HostMemory.Scheduling;
namespace Hypervisor.HostMemory.Notifiers;

/// <summary>
/// Sleepable read-copy-update: readers enter and leave without locks (a striped counter per index), and
/// <see cref="Synchronize"/> waits until every reader that might have seen an old version has left.
/// This is what lets <c>Unregister</c> promise that no callback of a removed notifier is still running.
/// </summary>
/// <remarks>
/// Pairing: the updater publishes the new list, then (full fence) flips the index and sums the old index's
/// counters; a reader increments its counter (full fence), then reads the list. Either the updater sees the
/// reader's count, or the reader sees the new list. Two flips per grace period cover a reader that sampled the
/// index just before a flip (the same reason Linux's SRCU waits on both indexes).
/// </remarks>
public sealed class SrcuDomain
{
    private const int Stripes = 16;
    private const int Stride = 8;
    private readonly long[] _readers = new long[2 * Stripes * Stride];

    // Serializes grace periods; never taken by readers.
    private readonly ProtocolLock _synchronizeLock = new("srcu grace-period mutex");
    private int _index;

    /// <summary>Enters a read section; pass the result to <see cref="ReadUnlock"/> on the same thread.</summary>
    public int ReadLock()
    {
        var idx = Volatile.Read(ref _index) & 1;
        Interlocked.Increment(ref _readers[Slot(idx)]);
        SchedulingPoint.Atomic("srcu_read_lock");
        return idx;
    }

    public void ReadUnlock(int idx)
    {
        Interlocked.Decrement(ref _readers[Slot(idx)]);
        SchedulingPoint.Atomic("srcu_read_unlock");
    }

    /// <summary>
    /// Waits until every read section that began before the call has ended. Must not be called from inside a
    /// read section (it would wait for itself).
    /// </summary>
    public void Synchronize()
    {
        using (_synchronizeLock.EnterScope())
        {
            for (var flip = 0; flip < 2; flip++)
            {
                var old = _index & 1;
                Volatile.Write(ref _index, old ^ 1);
                Interlocked.MemoryBarrier();
                var spin = new SpinWait();
                // Named wait: a grace period waits for readers of the old index to drain.
                while (ReadersOn(old) != 0)
                {
                    SchedulingPoint.SpinOnce(ref spin, "synchronize_srcu");
                }
            }
        }
    }

    private long ReadersOn(int idx)
    {
        long sum = 0;
        for (var s = 0; s < Stripes; s++)
        {
            sum += Volatile.Read(ref _readers[(((idx * Stripes) + s) * Stride)]);
        }

        return sum;
    }

    private static int Slot(int idx) =>
        ((idx * Stripes) + (Environment.CurrentManagedThreadId & (Stripes - 1))) * Stride;
}
