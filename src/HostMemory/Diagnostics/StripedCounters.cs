namespace Hypervisor.HostMemory.Diagnostics;

/// <summary>
/// A fixed set of counters, striped by thread so that concurrent writers on different cores do not share a
/// cache line; summed on read. For counters bumped from many threads on warm paths (faults, GUP).
/// </summary>
public sealed class StripedCounters
{
    private const int Stripes = 16;
    private const int CacheLineLongs = 8;
    private readonly long[] _cells;
    private readonly int _stride;

    public StripedCounters(int counterCount)
    {
        CounterCount = counterCount;
        // Round each stripe up to whole cache lines so two stripes never share one.
        _stride = (counterCount + CacheLineLongs - 1) / CacheLineLongs * CacheLineLongs;
        _cells = new long[(Stripes + 1) * _stride];
    }

    public int CounterCount { get; }

    public void Add(int counter, long amount = 1)
    {
        var stripe = (Environment.CurrentManagedThreadId & (Stripes - 1)) + 1;
        Interlocked.Add(ref _cells[(stripe * _stride) + counter], amount);
    }

    public long Read(int counter)
    {
        long sum = 0;
        for (var s = 1; s <= Stripes; s++)
        {
            sum += Volatile.Read(ref _cells[(s * _stride) + counter]);
        }

        return sum;
    }
}
